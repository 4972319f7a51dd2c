"""Prometheus metrics, correct with several uvicorn worker processes.

With PROMETHEUS_MULTIPROC_DIR set (scripts/serve.sh sets it), every worker writes its samples to
files there and /metrics merges all of them, so a scrape sees the whole server whichever worker
answers it. prometheus_client reads the variable itself when it is imported, so it must be in the
environment before uvicorn starts. Unset, /metrics serves this process's own registry.

Recording a sample is an in-memory (or mmap) write. Only a scrape may touch the database: it
first runs the samplers the apps registered (metrics_sampler_register), which refresh gauges
that are read from the database.
"""

import atexit
import glob
import os
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, multiprocess
from prometheus_client.exposition import choose_encoder

from core.db import db_pool_get
from core.errors import ErrorCode
from core.http.bearer import bearer_token, token_matches
from core.http.exception_handler import error_body, get_only

# "livesum": the instance's total over its live workers (a worker's files go when it exits, and
# a killed worker's at the next scrape: metrics_dead_workers_forget).
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

if settings.PROMETHEUS_MULTIPROC_DIR:
    # A worker that exits cleanly takes its pool gauges out of the "live" sums.
    atexit.register(multiprocess.mark_process_dead, os.getpid())


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
        values = (
            stats["pool_size"],
            stats["pool_available"],
            stats.get("requests_waiting", 0),
            stats["pool_max"],
        )
        # This process is its gauges' only writer: an unchanged sample is already there. The
        # pid: a forked child starts its own (empty) samples.
        key = (os.getpid(), name)
        if _pool_samples_written.get(key) == values:
            continue
        for gauge, value in zip(_pool_gauges(name), values, strict=True):
            gauge.set(value)
        _pool_samples_written[key] = values


_pool_gauges_by_name: dict[str, tuple] = {}
_pool_samples_written: dict[tuple[int, str], tuple[int, ...]] = {}


def _pool_gauges(name: str) -> tuple:
    """The four gauges' children for one pool: labels() takes a lock and checks its arguments
    each call, and every webhook delivery samples (payments.webhook_observation)."""
    children = _pool_gauges_by_name.get(name)
    if children is None:
        gauges = (db_pool_connections, db_pool_idle, db_pool_waiting, db_pool_max)
        children = _pool_gauges_by_name[name] = tuple(gauge.labels(name) for gauge in gauges)
    return children


# Filled by the apps (from AppConfig.ready): core imports no app.
_scrape_samplers: list[Callable[[], Awaitable[None]]] = []


def metrics_sampler_register(sampler: Callable[[], Awaitable[None]]) -> None:
    """Have every scrape await sampler() first; it must not raise when the database is down."""
    if sampler not in _scrape_samplers:
        _scrape_samplers.append(sampler)


def metrics_dead_workers_forget(directory: str) -> None:
    """Drop the live-gauge samples of worker processes that no longer run.

    A worker killed (SIGKILL, the OOM killer) never runs its atexit, so without this its pool
    gauges would be summed into every scrape for good. Counters and histograms stay: they are
    totals, and a dead worker's deliveries did happen.
    """
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = int(os.path.basename(path).rsplit("_", 1)[1].removesuffix(".db"))
        if not _process_runs(pid):
            multiprocess.mark_process_dead(pid, directory)


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: it exists
        return True
    return True


def metrics_registry() -> CollectorRegistry:
    if settings.PROMETHEUS_MULTIPROC_DIR:
        metrics_dead_workers_forget(settings.PROMETHEUS_MULTIPROC_DIR)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_authorized(request: HttpRequest) -> bool:
    """With METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` may scrape. Unset is
    development, or METRICS_INTERNAL_ONLY (core.checks refuses DEBUG=0 with neither)."""
    expected = settings.METRICS_TOKEN
    return not expected or token_matches(token=bearer_token(request), tokens=[expected])


@get_only
async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, or OpenMetrics when the scraper's Accept header asks for it."""
    if not metrics_authorized(request):
        return JsonResponse(
            error_body(ErrorCode.NOT_AUTHENTICATED, "A valid metrics bearer token is required."),
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    for sampler in _scrape_samplers:
        await sampler()
    db_pool_sample()
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(metrics_registry()), content_type=content_type)
