"""The suite's fixtures (loaded for every test folder by the root conftest.py), and the guard
that keeps the `processes` and `browser` markers true, so `make test-fast` starts nothing."""

import subprocess
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from django.db import connection

from core.db import db_owner_use, db_pool_close, db_pool_open
from testsupport.database import LEDGER_TRIGGERS
from testsupport.servers import PRODUCTION_ENV, uvicorn_server

# Fixtures that start server processes: a test that uses one is marked `processes` by itself.
PROCESS_FIXTURES = frozenset({"live_server_url", "production_server_url"})
COSTLY_MARKERS = ("processes", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.processes)


class _ProcessRefused(subprocess.Popen):
    """subprocess.Popen while a test without the `processes` marker runs."""

    test = ""

    def __new__(cls, args, *rest, **kwargs):
        command = args if isinstance(args, str) else " ".join(map(str, args[:3]))
        raise AssertionError(
            f"{cls.test} starts a process ({command} ...) but is not marked "
            "@pytest.mark.processes: `make test-fast` would run it."
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem) -> Iterator[None]:
    """Refuse to start a process (fixtures included) in a test that is not marked for it."""
    if any(item.get_closest_marker(marker) for marker in COSTLY_MARKERS):
        yield
        return
    popen, subprocess.Popen = subprocess.Popen, _ProcessRefused
    _ProcessRefused.test = item.nodeid
    try:
        yield
    finally:
        subprocess.Popen = popen


@pytest.fixture(autouse=True)
def in_process_shortcuts(request, settings) -> None:
    """For a test that runs in this process only: users get a cheap password hash (Django's
    advice for tests), and ServeStatic serves STATIC_ROOT as in production instead of indexing
    every app's static files for each test client. A test that starts processes keeps both as
    configured: its servers verify the passwords and serve the files."""
    if not any(request.node.get_closest_marker(marker) for marker in COSTLY_MARKERS):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        settings.SERVESTATIC_USE_FINDERS = False


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """The test session itself logs in as the owner role (DATABASE_OWNER_URL, when set), as an
    operator would: it creates and migrates the test database, sets up data by hand and empties
    the tables between tests (TRUNCATE, which the serving role may not do). Every server and
    worker a test starts logs in as the serving role (test_database_url), as in production."""
    db_owner_use()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    """The test database commits without waiting for its WAL to reach the disk: a crash could
    lose the last commits, which no test needs to survive (the fault tests crash their own
    PostgreSQL), and each of the thousands of commits stops costing an fsync."""
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT format(%s, current_database())",
                ["ALTER DATABASE %I SET synchronous_commit = off"],
            )
            cursor.execute(cursor.fetchone()[0])
        connection.close()
        connection.close_pool()  # new sessions take the setting


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


@pytest.fixture(scope="session")
def live_server_url(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """A real uvicorn (2 worker processes) on the test database, shared by the session, with
    multiprocess metrics as scripts/serve.sh runs it."""
    metrics_dir = str(tmp_path_factory.mktemp("prometheus"))
    with uvicorn_server(PROMETHEUS_MULTIPROC_DIR=metrics_dir) as url:
        yield url


@pytest.fixture(scope="session")
def production_server_url(django_db_setup) -> Iterator[str]:
    """A real uvicorn (1 worker) with DEBUG=0, webhook secrets and read tokens."""
    with uvicorn_server(workers=1, **PRODUCTION_ENV) as url:
        yield url


@pytest.fixture
async def pool():
    """The async pool a server opens at startup (core.db), here for this test's event loop."""
    yield await db_pool_open()
    await db_pool_close()


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


# Safe production settings for the system checks (the servers run on PRODUCTION_ENV).
PRODUCTION_SETTINGS_SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGUtYmFuay0zMi1ieXRlcyE="
PRODUCTION_SETTINGS_TOKEN = "reader-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def production_settings(settings):
    """Safe production settings; each test then breaks one."""
    settings.DEBUG = False
    settings.SECRET_KEY = "x" * 20 + "production-secret-key-for-tests-only"
    settings.BANK_WEBHOOK_SECRETS = [PRODUCTION_SETTINGS_SECRET]
    settings.API_TOKENS = [PRODUCTION_SETTINGS_TOKEN]
    settings.METRICS_TOKEN = "metrics-" + PRODUCTION_SETTINGS_TOKEN
    settings.STATEMENT_IMPORT_TOKENS = ["import-" + PRODUCTION_SETTINGS_TOKEN]
    settings.ALLOWED_HOSTS = ["payments.example.com"]
    return settings


@pytest.fixture(params=["sync", "background"])
def mode(request, settings) -> str:
    """Run the test in each processing mode (settings.WEBHOOK_PROCESSING)."""
    settings.WEBHOOK_PROCESSING = request.param
    return request.param
