import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
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


def free_port() -> int:
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
def uvicorn_serving(env: dict[str, str], *, workers: int) -> Iterator[str]:
    """Run `uvicorn core.asgi:application` on a free port with this environment; yield its URL."""
    port = free_port()
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
    deadline = time.monotonic() + 30
    while True:
        try:
            # /healthz needs no database, so this also works for a server whose database is down.
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError("uvicorn did not start") from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """A real uvicorn (2 worker processes) serving the app on a free port, on the test database,
    with multiprocess metrics as scripts/serve.sh runs it."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus")),
    }
    with uvicorn_serving(env, workers=2) as url:
        yield url


@pytest.fixture
async def asgi_client() -> AsyncIterator[httpx.AsyncClient]:
    """The whole ASGI stack in this process (observability, body limit, Django), over httpx.

    Each request's sync work runs on its own thread and connection, as under uvicorn, so tests
    using it need django_db(transaction=True).
    """
    from core.asgi import application

    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client
