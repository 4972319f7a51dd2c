import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]

# The task's example payload, verbatim.
EXAMPLE = {
    "operation_id": "ccf0a86d-041b-4991-bcf7-e2352f7b8a4a",
    "amount": 145000,
    "payer_inn": "1234567890",
    "document_number": "PAY-328",
    "document_date": "2024-04-27T21:00:00Z",
}


def payload(**overrides) -> dict:
    """A valid delivery with a fresh operation_id unless one is given."""
    return {**EXAMPLE, "operation_id": str(uuid.uuid4()), **overrides}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """The URL of the database pytest-django created, for processes started by a test."""
    db = connection.settings_dict
    params = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    return make_conninfo(**{k: v for k, v in params.items() if v})


test_database_url.__test__ = False  # a helper, not a test


@contextlib.contextmanager
def uvicorn_server(*, workers: int) -> Iterator[str]:
    """Run the app in a real uvicorn (`workers` processes) on a free port, on the test database;
    yield its base URL. Every instance started here is independent: no state is shared but the
    database, as between instances behind a load balancer."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url(), "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "core.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--lifespan", "off", "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(server, url)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_until_serving(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/api/organizations/0000000000/balance/", timeout=1)
            return
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.2)


@pytest.fixture(scope="session")
def live_server_url(django_db_setup) -> Iterator[str]:
    """A real uvicorn (2 worker processes) serving the app on a free port, on the test database."""
    with uvicorn_server(workers=2) as url:
        yield url
