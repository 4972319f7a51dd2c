"""core.serve: one uvicorn command line for every way the server starts, keep-alive included."""

import http.client
import time

import pytest

from core.serve import KEEP_ALIVE_SECONDS, uvicorn_args
from testsupport.api import CLIENT_IDLE_REUSE_SECONDS
from testsupport.launch import ROOT
from testsupport.servers import uvicorn_server

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_server_command_line_sets_the_keep_alive():
    """serve.sh and the Dockerfile start core.serve, whose one command line sets the keep-alive."""
    assert ["--timeout-keep-alive", str(KEEP_ALIVE_SECONDS)] == [
        arg
        for arg in uvicorn_args(port=8000, workers=2)
        if arg in ("--timeout-keep-alive", str(KEEP_ALIVE_SECONDS))
    ]
    assert "-m core.serve" in (ROOT / "scripts" / "serve.sh").read_text()
    assert "python -m core.serve" in (ROOT / "Dockerfile").read_text()


@pytest.mark.processes
def test_idle_keep_alive_connection_outlives_the_clients_idle_reuse():
    """A connection idle for a little longer than a client reuses one (httpx: 5 s) is still
    open: the client, not the server, decides when an idle connection ends, so the server never
    closes one just as the client sends a request on it.
    """
    with uvicorn_server(workers=1) as url:
        connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
        try:
            connection.request("GET", "/healthz")
            assert connection.getresponse().read() == b'{"status": "ok"}'
            sock = connection.sock
            time.sleep(CLIENT_IDLE_REUSE_SECONDS + 1)
            connection.request("GET", "/healthz")
            assert connection.getresponse().status == 200
            assert connection.sock is sock  # the same connection, not a new one
        finally:
            connection.close()
