"""Prometheus metrics, correct with several uvicorn worker processes.

With PROMETHEUS_MULTIPROC_DIR set (scripts/serve.sh sets it), every worker writes its samples to
files there and /metrics merges all of them, so a scrape sees the whole server whichever worker
answers it. prometheus_client reads the variable itself when it is imported, so it must be in the
environment before uvicorn starts. Unset, /metrics serves this process's own registry.

Nothing here touches the database: recording a sample is an in-memory (or mmap) write.
"""

import atexit
import hmac
import os

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

from core.db import db_pool_get
from core.exceptions import error_body, get_only

WEBHOOK_OUTCOMES = (
    "credited",
    "duplicate",
    "conflict",
    "invalid",
    "unauthorized",
    "too_large",
    "unavailable",
    "overflow",
    "error",
)

webhook_requests = Counter(
    "payments_webhook_requests",
    "Webhook deliveries answered, by outcome.",
    ["outcome"],
)
crediting_duration = Histogram(
    "payments_crediting_duration_seconds",
    "Time spent in the crediting service call (payment_process), by outcome.",
    ["outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
credited_amount = Counter(
    "payments_credited_minor_units",
    "Sum of the amounts credited to organizations, in minor units (kopecks).",
)
# "livesum": the instance's total over its live workers (a worker's files go when it exits).
# pool="webhook": the async pool of the crediting transaction (core.db); pool="django": Django's
# (reads, admin, background-mode accepts).
db_pool_connections = Gauge(
    "payments_db_pool_connections",
    "Open database connections held by the pools.",
    ["pool"],
    multiprocess_mode="livesum",
)
db_pool_idle = Gauge(
    "payments_db_pool_idle_connections",
    "Pooled connections idle and ready to be handed out.",
    ["pool"],
    multiprocess_mode="livesum",
)
db_pool_waiting = Gauge(
    "payments_db_pool_waiting_requests",
    "Requests waiting for a pooled connection.",
    ["pool"],
    multiprocess_mode="livesum",
)
db_pool_max = Gauge(
    "payments_db_pool_max_connections",
    "Most connections the pools may open (DB_POOL_MAX_SIZE x workers).",
    ["pool"],
    multiprocess_mode="livesum",
)

# Every outcome is exported from the start (at 0), so rate() works before its first event.
for _outcome in WEBHOOK_OUTCOMES:
    webhook_requests.labels(_outcome)

if settings.PROMETHEUS_MULTIPROC_DIR:
    # A worker that exits cleanly takes its pool gauges out of the "live" sums.
    atexit.register(multiprocess.mark_process_dead, os.getpid())


def webhook_record(*, outcome: str, amount: int | None, crediting_ms: float | None) -> None:
    """Count one answered webhook delivery."""
    webhook_requests.labels(outcome).inc()
    if crediting_ms is not None:
        crediting_duration.labels(outcome).observe(crediting_ms / 1000)
    if outcome == "credited" and amount is not None:
        credited_amount.inc(amount)


_pool = None


def _db_pool():
    """The process's pool, looked up again only if Django replaced it (after close_pool()).

    Looking it up through connections["default"] would build a connection wrapper for each
    request's context, several times the cost of reading the stats.
    """
    global _pool
    if _pool is None or _pool.closed:
        _pool = connections["default"].pool
    return _pool


def db_pool_sample() -> None:
    """Copy this process's pools' statistics (held in memory by psycopg_pool) into the gauges."""
    for name, pool in (("django", _db_pool()), ("webhook", db_pool_get())):
        if pool is None:
            continue
        stats = pool.get_stats()
        db_pool_connections.labels(name).set(stats["pool_size"])
        db_pool_idle.labels(name).set(stats["pool_available"])
        db_pool_waiting.labels(name).set(stats.get("requests_waiting", 0))
        db_pool_max.labels(name).set(stats["pool_max"])


def metrics_registry() -> CollectorRegistry:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_authorized(request: HttpRequest) -> bool:
    """With METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` may scrape. Unset is
    development, or METRICS_INTERNAL_ONLY (payments.checks refuses DEBUG=0 with neither)."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Constant time: the comparison does not tell a guesser how many characters were right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


@get_only
async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, or OpenMetrics when the scraper's Accept header asks for it."""
    if not metrics_authorized(request):
        return JsonResponse(
            error_body("not_authenticated", "A valid metrics bearer token is required."),
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    db_pool_sample()
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(metrics_registry()), content_type=content_type)
