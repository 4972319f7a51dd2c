"""Liveness and readiness for the orchestrator: public, cheap, nothing secret in the bodies.

/healthz answers from the process alone: a database outage must not get healthy processes
restarted. /readyz answers 200 only when the database takes a query and every migration is
applied, and in background mode when a worker's heartbeat is fresh, so traffic is sent only to
an instance that can credit payments. (Background mode's "accepted" promises a credit within
seconds; with no live worker that promise is false, and the bank's retries wait for one.)
"""

import logging

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from core.errors import ErrorCode
from core.http.exception_handler import (
    RETRY_AFTER_SECONDS,
    error_body,
    get_only,
)

logger = logging.getLogger(__name__)

_NOT_READY_MESSAGES = {
    "database": "The database is unreachable.",
    "migrations": "Database migrations are not applied.",
    "worker": "No background worker is alive: none has sent a heartbeat recently.",
}

# A worker is alive while its last heartbeat (procrastinate writes one every
# WORKER_HEARTBEAT_SECONDS) is younger than WORKER_STALLED_AFTER_SECONDS.
_LIVE_WORKER = """
    SELECT EXISTS (
        SELECT 1 FROM procrastinate_workers
        WHERE last_heartbeat > now() - make_interval(secs => %s)
    )
"""

# Once every migration is applied it stays so until the next deploy, which restarts the process:
# after the first success /readyz costs one SELECT 1.
_migrations_applied = False


def migrations_unapplied() -> list[str]:
    """Return the migrations this code has that the database has not applied, in order."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def _database_ping() -> bool:
    """Raise if the database does not answer; return whether a worker is alive (True when
    not in background mode, where none is needed)."""
    if settings.WEBHOOK_PROCESSING == "background":
        query, params = _LIVE_WORKER, [settings.WORKER_STALLED_AFTER_SECONDS]
    else:
        query, params = "SELECT true", []
    pool = connection.pool
    if pool is None:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchone()[0]
    # Straight from the pool with our own short wait: Django's connection would wait the full
    # DB_POOL_TIMEOUT_SECONDS, longer than an orchestrator's probe timeout.
    pool.open()
    with pool.connection(timeout=settings.HEALTH_DB_TIMEOUT_SECONDS) as conn:
        return conn.execute(query, params).fetchone()[0]


def readiness_check() -> str | None:
    """Return None when the service can take traffic, else the failed check's name."""
    global _migrations_applied
    try:
        worker_alive = _database_ping()
        if not _migrations_applied:
            unapplied = migrations_unapplied()
            if unapplied:
                logger.warning("not ready: unapplied migrations %s", ",".join(unapplied))
                return "migrations"
            _migrations_applied = True
    except (psycopg.Error, DatabaseError) as exc:
        logger.warning("not ready: database unreachable (%s)", type(exc).__name__)
        return "database"
    if not worker_alive:
        logger.warning("not ready: no background worker has sent a heartbeat recently")
        return "worker"
    return None


@get_only
async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@get_only
async def readyz(request: HttpRequest) -> JsonResponse:
    failed = await sync_to_async(readiness_check)()
    if failed:
        return JsonResponse(
            error_body(ErrorCode.SERVICE_UNAVAILABLE, _NOT_READY_MESSAGES[failed], check=failed),
            status=503,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    return JsonResponse({"status": "ok"})
