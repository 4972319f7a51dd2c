"""The pool gauges after a uvicorn worker is SIGKILLed: a killed worker runs no atexit, so its
samples stay in PROMETHEUS_MULTIPROC_DIR; /metrics must count live workers only, as
PostgreSQL's own pg_stat_activity does."""

import glob
import os
import signal
import time

import httpx
import pytest
from django.db import connection

from payments.tests.test_tasks import metric_value
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload
from testsupport.servers import uvicorn_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

APP_NAME = "metrics-worker-death"  # libpq's PGAPPNAME: this server's sessions, and no others
POOL_MAX = 10
WORKERS = 2


def _workers(directory: str) -> set[int]:
    """The worker processes that wrote pool gauges (gauge_livesum_<pid>.db)."""
    return {
        int(path.rsplit("_", 1)[1].removesuffix(".db"))
        for path in glob.glob(os.path.join(directory, "gauge_livesum_*.db"))
    }


def _sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME]
        )
        return cursor.fetchone()[0]


def _gauges(url: str) -> dict[str, float]:
    # A fresh connection per request: the two workers take turns accepting.
    httpx.post(f"{url}{WEBHOOK}", json=payload(), timeout=10).raise_for_status()
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        name: sum(
            metric_value(text, f'payments_db_pool_{name}{{pool="{pool}"}}')
            for pool in ("webhook", "django")
        )
        for name in ("connections", "max_connections", "waiting_requests")
    } | {
        "webhook_max": metric_value(text, 'payments_db_pool_max_connections{pool="webhook"}'),
        "webhook_waiting": metric_value(text, 'payments_db_pool_waiting_requests{pool="webhook"}'),
    }


def test_pool_gauges_count_live_workers_only_after_a_worker_is_killed(tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PGAPPNAME": APP_NAME}
    with uvicorn_server(workers=WORKERS, DB_POOL_MAX_SIZE=str(POOL_MAX), **env) as url:
        deadline = time.monotonic() + 30
        while len(_workers(str(tmp_path))) < WORKERS and time.monotonic() < deadline:
            _gauges(url)
        victim = min(_workers(str(tmp_path)))

        os.kill(victim, signal.SIGKILL)

        # uvicorn starts a worker in its place; keep delivering until both have reported.
        deadline = time.monotonic() + 30
        while True:
            gauges, sessions = _gauges(url), _sessions()
            settled = gauges["connections"] == sessions and len(_workers(str(tmp_path))) == WORKERS
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.2)

    assert victim not in _workers(str(tmp_path))
    assert gauges["connections"] == sessions
    assert gauges["webhook_max"] == WORKERS * POOL_MAX
    assert gauges["webhook_waiting"] == 0
