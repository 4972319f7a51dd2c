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


def spawn(args: list[str], **env: str) -> subprocess.Popen:
    """Start a process of this project (uvicorn, a worker) on the test database."""
    full_env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full_env)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def uvicorn_server(*, workers: int = 2, **env: str) -> Iterator[str]:
    """A real uvicorn serving the app on a free port; yields its base URL."""
    port = _free_port()
    server = spawn(
        [
            "-m", "uvicorn", "core.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--lifespan", "off", "--no-access-log",
        ],
        **env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                httpx.get(f"{url}/api/organizations/0000000000/balance/", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        stop(server)


@pytest.fixture(scope="session")
def live_server_url(django_db_setup) -> Iterator[str]:
    """A real uvicorn (2 worker processes) on the test database, shared by the session."""
    with uvicorn_server() as url:
        yield url


@pytest.fixture(params=["sync", "background"])
def mode(request, settings) -> str:
    """Run the test in each processing mode (settings.WEBHOOK_PROCESSING)."""
    settings.WEBHOOK_PROCESSING = request.param
    return request.param


def credit_jobs_run() -> int:
    """Run every queued credit job here, in order, as a worker would; return how many ran."""
    from payments.services import payment_credit
    from payments.tasks import CREDIT_TASK

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (args->>'payment_id')::bigint FROM procrastinate_jobs"
            " WHERE task_name = %s AND status = 'todo' ORDER BY id",
            [CREDIT_TASK],
        )
        jobs = [row[0] for row in cursor.fetchall()]
        cursor.execute("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE status = 'todo'")
    for payment_id in jobs:
        payment_credit(payment_id=payment_id)
    return len(jobs)
