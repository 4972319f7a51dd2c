"""The service's processes in a test: servers and workers on the test database."""

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from testsupport.database import test_database_url
from testsupport.launch import ROOT, process_stop, server_running, server_start

# Production mode: what a deployment runs (values generated for the tests, never used elsewhere).
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "test-only-5Jw0c8Qm2rYzL1vXbN7tKp3sHd9fGa6eUo4iWy-Rq",
    "BANK_WEBHOOK_SECRETS": "whsec_dGVzdC1vbmx5LWJhbmstd2ViaG9vay1zZWNyZXQtMzJi",
    "API_TOKENS": "test-only-reader-token-0123456789abcdefghij",
    "METRICS_TOKEN": "test-only-metrics-token-0123456789abcdefghij",
    "ALLOWED_HOSTS": "127.0.0.1",
}
PRODUCTION_SECRET = PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"]

# Fast heartbeats and requeue, so a dead worker's jobs are recovered within seconds.
WORKER_ENV = {
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_STALLED_AFTER_SECONDS": "3",
    "PAYMENTS_REQUEUE_CRON": "* * * * * */1",
    "PAYMENTS_PENDING_GRACE_SECONDS": "1",
}


def process_env(**env: str) -> dict[str, str]:
    """The environment of a process this project starts (a server, a worker) in a test."""
    return {
        **os.environ,
        # Development unless a test asks for production (PRODUCTION_ENV): the settings' own
        # default is off.
        "DEBUG": "1",
        "DATABASE_URL": test_database_url(),
        # Servers and workers never migrate; a test that runs migrate passes its own.
        "DATABASE_OWNER_URL": "",
        "LOG_LEVEL": "WARNING",
        # Several servers of one session share the test database's 100 connections, and each
        # worker process has two pools that keep what they grew to for minutes.
        "DB_POOL_MAX_SIZE": "10",
        **env,
    }


def spawn(args: list[str], **env: str) -> subprocess.Popen:
    """Start a process of this project (a worker, a command) on the test database.

    It gets its own process group, so a test can kill it with all its children at once.
    """
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=process_env(**env), start_new_session=True
    )


def uvicorn_start(*, port: int, workers: int = 2, **env: str) -> subprocess.Popen:
    """Start the server (core.serve) on 127.0.0.1:port and wait until /healthz answers (it
    needs no database, so this also works for a server whose database is down)."""
    return server_start(port=port, workers=workers, env=process_env(**env))


@contextlib.contextmanager
def uvicorn_server(*, workers: int = 2, **env: str) -> Iterator[str]:
    """A real uvicorn serving the app on a free port; yields its base URL."""
    with server_running(workers=workers, env=process_env(**env)) as url:
        yield url


def start_worker(**env: str) -> subprocess.Popen:
    """A real procrastinate worker process (4 concurrent jobs) with fast liveness settings."""
    return spawn(
        ["manage.py", "procrastinate", "worker", "--concurrency", "4"], **{**WORKER_ENV, **env}
    )


@contextlib.contextmanager
def worker_running(**env: str) -> Iterator[subprocess.Popen]:
    """start_worker for the duration of a with block; stopped however the block ends."""
    worker = start_worker(**env)
    try:
        yield worker
    finally:
        process_stop(worker)


def secret_files(tmp_path, values: dict[str, str]) -> dict[str, str]:
    """Write each value to its own file (with the trailing newline editors add); return the
    NAME_FILE variables, with NAME itself emptied."""
    env = {}
    for name, value in values.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")
        env |= {f"{name}_FILE": str(path), name: ""}
    return env
