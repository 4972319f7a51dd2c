"""/healthz and /readyz: liveness from the process alone, readiness from the database."""

import time

import httpx
import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from core import health
from testsupport.launch import free_port
from testsupport.servers import WORKER_ENV, start_worker, uvicorn_server


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def migrations_not_yet_checked(monkeypatch):
    """Forget that an earlier request found every migration applied."""
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_ok_when_database_is_up_and_migrated(client, migrations_not_yet_checked):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert health._migrations_applied is True


@pytest.mark.django_db
def test_readyz_is_503_while_a_migration_is_unapplied(client, migrations_not_yet_checked):
    # The test's transaction is rolled back afterwards, which restores the record.
    latest = MigrationRecorder.Migration.objects.filter(app="payments").latest("id")
    latest.delete()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json() == {
        "error": {
            "code": "service_unavailable",
            "message": "Database migrations are not applied.",
            "check": "migrations",
        }
    }
    assert health.migrations_unapplied() == [f"payments.{latest.name}"]


@pytest.mark.django_db
def test_readyz_checks_migrations_only_until_they_are_applied(client, migrations_not_yet_checked):
    assert client.get("/readyz").status_code == 200
    MigrationRecorder.Migration.objects.filter(app="payments").delete()

    # Only a deploy can unapply a migration, and a deploy restarts the process.
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operations_endpoints_refuse_other_methods_with_json_405(client, path):
    response = client.post(path)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.processes
def test_readyz_is_503_and_healthz_200_when_the_database_is_unreachable():
    """A server whose DATABASE_URL points at a closed port: not ready, but alive, and /readyz
    answers within its own short wait (1 s here) instead of hanging."""
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/payments"
    with uvicorn_server(
        workers=1, DATABASE_URL=unreachable, HEALTH_DB_TIMEOUT_SECONDS="1", LOG_LEVEL="ERROR"
    ) as url:
        ready = httpx.get(f"{url}/readyz", timeout=30)
        alive = httpx.get(f"{url}/healthz", timeout=30)

    assert ready.status_code == 503
    assert ready.headers["Retry-After"] == "2"
    assert ready.json() == {
        "error": {
            "code": "service_unavailable",
            "message": "The database is unreachable.",
            "check": "database",
        }
    }
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_readyz_in_background_mode_reports_a_missing_or_stale_worker():
    """Background mode answers "accepted" and leaves crediting to a worker: with none alive
    (none started, or its heartbeat stale after a SIGKILL) the instance is not ready."""

    def ready_check(base: str) -> str | None:
        response = httpx.get(f"{base}/readyz", timeout=10)
        return None if response.status_code == 200 else response.json()["error"]["check"]

    def eventually(base: str, expected: str | None) -> str | None:
        deadline = time.monotonic() + 30
        while (check := ready_check(base)) != expected and time.monotonic() < deadline:
            time.sleep(0.5)
        return check

    with uvicorn_server(workers=1, WEBHOOK_PROCESSING="background", **WORKER_ENV) as base:
        without_worker = ready_check(base)
        worker = start_worker()
        try:
            with_worker = eventually(base, None)
        finally:
            worker.kill()
            worker.wait()
        after_kill = eventually(base, "worker")

    assert without_worker == "worker"
    assert with_worker is None
    assert after_kill == "worker"
