"""The suite's fixtures and helpers: the database, real servers, payloads (loaded for every
test folder by the root conftest.py; tests import the helpers from here)."""

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# free_port and stop (core.serve's process_stop) are imported from here by the tests.
from core.db import db_owner_use, db_pool_close, db_pool_open, db_serving_role
from core.serve import ROOT, free_port, server_running, server_start  # noqa: F401
from core.serve import process_stop as stop
from payments.services import PaymentData, payment_process_async

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


# A service call's arguments (validated data, as the webhook hands it to the service).
SERVICE_INN = "7707083893"


def operation(**overrides) -> PaymentData:
    """A service's input (the PaymentData the webhook builds) for a fresh operation."""
    return PaymentData(
        **{
            "operation_id": uuid.uuid4(),
            "amount": 1000,
            "payer_inn": SERVICE_INN,
            "document_number": "PAY-1",
            "document_date": datetime(2024, 4, 27, 21, 0, tzinfo=timezone.utc),
            **overrides,
        }
    )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """The test session itself logs in as the owner role (DATABASE_OWNER_URL, when set), as an
    operator would: it creates and migrates the test database, sets up data by hand and empties
    the tables between tests (TRUNCATE, which the serving role may not do). Every server and
    worker a test starts logs in as the serving role (test_database_url), as in production."""
    db_owner_use()


def test_database_url(*, owner: bool = False) -> str:
    """The URL of the database pytest-django created, for processes started by a test: as the
    serving role (DATABASE_URL's), or as the role this session uses (the owner) if asked."""
    from core.db import db_connection_kwargs

    params = db_connection_kwargs()
    if not owner:
        serving = conninfo_to_dict(settings.DATABASE_URL)
        params.update({key: serving.get(key, "") for key in ("user", "password", "host", "port")})
    params = {key: params.get(key) for key in ("dbname", "user", "password", "host", "port")}
    return make_conninfo(**{k: v for k, v in params.items() if v})


test_database_url.__test__ = False  # a helper, not a test


# migrations/0005's ledger rules (the append-only triggers stay on).
LEDGER_TRIGGERS = {
    "organization": ["organization_balance_logged_insert", "organization_balance_logged_update"],
    "payment": ["payment_credited_has_log_insert", "payment_credited_has_log_update"],
    "balance_log": ["balance_log_checked"],
}


@pytest.fixture
def ledger_unguarded(db) -> None:
    """The owner's escape hatch of docs/security.md, for a test that sets balances up by hand or
    breaks a ledger on purpose: the ledger rules are off inside this test's transaction only.

    Django checks deferred constraints at the end of every test (SET CONSTRAINTS ALL IMMEDIATE),
    so without this such a test fails there. The ALTERs are rolled back with the test.
    """
    assert connection.in_atomic_block, "only inside a test transaction (not transaction=True)"
    with connection.cursor() as cursor:
        for table, triggers in LEDGER_TRIGGERS.items():
            for trigger in triggers:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")


def serving_role_separate() -> bool:
    """Whether servers run as a role of their own (make test: yes; one DATABASE_URL: no)."""
    owner = conninfo_to_dict(settings.DATABASE_OWNER_URL or "").get("user")
    return owner is not None and owner != db_serving_role()


serving_role_only = pytest.mark.skipif(
    not serving_role_separate(),
    reason="needs DATABASE_OWNER_URL and a separate serving role (make test sets both)",
)


def process_env(**env: str) -> dict[str, str]:
    """The environment of a process this project starts (a server, a worker) in a test."""
    return {
        **os.environ,
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


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """A real uvicorn (2 worker processes) on the test database, shared by the session, with
    multiprocess metrics as scripts/serve.sh runs it."""
    metrics_dir = str(tmp_path_factory.mktemp("prometheus"))
    with uvicorn_server(PROMETHEUS_MULTIPROC_DIR=metrics_dir) as url:
        yield url


@pytest.fixture
async def pool():
    """The async pool a server opens at startup (core.db), here for this test's event loop."""
    yield await db_pool_open()
    await db_pool_close()


async def books(pool, inn: str = SERVICE_INN) -> tuple:
    """(balance, payments, log rows, sum of log deltas) of one organization, straight from SQL."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """
            SELECT o.balance,
                   (SELECT count(*) FROM payment p WHERE p.payer_inn = o.inn),
                   (SELECT count(*) FROM balance_log l WHERE l.organization_id = o.id),
                   (SELECT coalesce(sum(delta), 0) FROM balance_log l
                    WHERE l.organization_id = o.id)
            FROM organization o WHERE o.inn = %s
            """,
            [inn],
        )
        return await cursor.fetchone()


async def deliver_concurrently(pool, deliveries: list[PaymentData], *, connections: int = 25):
    """payment_process_async once per delivery, all at once, each in its own transaction on a
    pooled connection (connections of them, open before the first starts); the results, an
    exception in place of a delivery that raised."""
    await pool.resize(min_size=connections, max_size=connections)
    await pool.wait()
    return await asyncio.gather(
        *(payment_process_async(data=data) for data in deliveries), return_exceptions=True
    )


@pytest.fixture
async def asgi_client() -> AsyncIterator[httpx.AsyncClient]:
    """The whole ASGI stack in this process (observability, body limit, Django), over httpx.

    Each request's sync work runs on its own thread and connection, as under uvicorn, so tests
    using it need django_db(transaction=True).
    """
    from core.http.stack import asgi_stack_build

    transport = httpx.ASGITransport(app=asgi_stack_build())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


# Production mode: what a deployment runs (values generated for the tests, never used elsewhere).
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "test-only-5Jw0c8Qm2rYzL1vXbN7tKp3sHd9fGa6eUo4iWy-Rq",
    "BANK_WEBHOOK_SECRETS": "whsec_dGVzdC1vbmx5LWJhbmstd2ViaG9vay1zZWNyZXQtMzJi",
    "API_TOKENS": "test-only-reader-token-0123456789abcdefghij",
    "METRICS_TOKEN": "test-only-metrics-token-0123456789abcdefghij",
    "ALLOWED_HOSTS": "127.0.0.1",
}


def signing_snippet_run(snippet: str) -> tuple[str, dict[str, str]]:
    """Run the API docs' signing snippet as printed, with PRODUCTION_ENV's webhook secret in
    place of its placeholder: the body it prints first, and the headers on the lines after."""
    secret = PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"]
    printed = subprocess.run(
        [sys.executable, "-c", snippet.replace("whsec_...", secret)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return printed[0], dict(line.split(": ", 1) for line in printed[1:])


@pytest.fixture(scope="session")
def production_server_url(django_db_setup) -> Iterator[str]:
    """A real uvicorn (1 worker) with DEBUG=0, webhook secrets and read tokens."""
    with uvicorn_server(workers=1, **PRODUCTION_ENV) as url:
        yield url


@sync_to_async
def count_rows(model) -> int:
    """Count in asgiref's worker thread, and give its connection back (else the test database
    cannot be dropped at the end of the session)."""
    try:
        return model.objects.count()
    finally:
        connection.close()


@pytest.fixture(params=["sync", "background"])
def mode(request, settings) -> str:
    """Run the test in each processing mode (settings.WEBHOOK_PROCESSING)."""
    settings.WEBHOOK_PROCESSING = request.param
    return request.param


def credit_jobs_run() -> int:
    """Run every queued credit job here, in order, as a worker would; return how many ran."""
    from payments.models import CREDIT_TASK
    from payments.services import payment_credit

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


def run_concurrently(function, calls: list[dict]) -> list:
    """Call function once per kwargs dict, each in its own thread, all released at once."""
    barrier = threading.Barrier(len(calls))

    def call(kwargs: dict):
        try:
            barrier.wait(timeout=30)
            return function(**kwargs)
        except Exception as exc:  # returned, so the test can show which call failed and how
            return exc
        finally:
            connection.close()  # this thread's connection goes back to the pool

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, calls))


# Fast heartbeats and sweep, so a dead worker's jobs are recovered within seconds.
WORKER_ENV = {
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_STALLED_AFTER_SECONDS": "3",
    "PAYMENTS_REQUEUE_CRON": "* * * * * */1",
    "PAYMENTS_PENDING_GRACE_SECONDS": "1",
}


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
        stop(worker)
