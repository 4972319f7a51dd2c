"""`make bench-scale`: does the service slow down as its tables grow?

    python -m loadtest.scale [--levels 0,1000000,10000000] [--ops 6000] [--out build/bench]

With DATABASE_URL set (make bench-scale sets it, to the embedded PostgreSQL unless you gave one):
1. creates a database of its own beside DATABASE_URL's (payments_scale, dropped and created
   again, so the empty level is empty and your development data is never touched) and migrates;
2. for each level: loads the payment history up to that many rows in SQL (loadtest.history:
   credited payments with their balance-log rows over 100k organizations, as the service writes
   them; indexes rebuilt after), VACUUM ANALYZE and CHECKPOINT so that neither runs during the
   storms, then starts the service as production runs it and runs bench's storms (spread 5
   organizations, hot 1, burst at 256) against it;
3. at the first and the last level, sweeps the concurrency 1..256 (spread storm);
4. at the last level, times what operators and the periodic jobs run: the pending-payment requeue's
   query, `manage.py reconcile` (with its peak memory), and the admin's list pages;
5. writes scale.md (the tables), scale.json and scale.png (throughput and p50/p99 against
   concurrency and against table size) into --out, and prints the tables.

A benchmark, not a test: it asserts nothing about time; it exits 1 only if a storm's verdict is
INCORRECT or reconcile fails. The load average is recorded beside every storm: on a shared
machine it says how much the numbers can be trusted.
"""

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from core.http.paths import admin_prefix
from loadtest.bench_service import DUP, BenchService, bench_log, command_run, production_env
from loadtest.history import history_load, history_vacuum
from loadtest.scale_report import (
    Point,
    _machine,
    scale_markdown,
    scale_plot,
)
from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig
from testsupport.launch import ROOT

ORGANIZATIONS = 100_000
SWEEP_CONCURRENCY = (1, 2, 4, 8, 16, 32, 64, 128, 256)
ADMIN_LISTS = ("payments/payment", "payments/balancelog", "payments/organization")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    base_url = os.environ.get("DATABASE_URL")
    if not base_url:
        sys.exit("DATABASE_URL is not set (run it through `make bench-scale`).")
    # Creating, migrating and loading the databases is the owner's work (DATABASE_OWNER_URL);
    # the service serves them as DATABASE_URL's role, as in production.
    owner_url = os.environ.get("DATABASE_OWNER_URL") or base_url
    levels = sorted(set(args.levels))
    # One database per level, so that the levels can be stormed in turns (below).
    envs = {}
    loads: list[dict] = []
    for level in levels:
        name = f"{args.database}_{level}"
        owner_level_url = _database_fresh(owner_url, name)
        envs[level] = production_env(_database_url(base_url, name))
        command_run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], envs[level])
        if level:
            loads.append(_history_load(owner_level_url, first=1, count=level))

    points: list[Point] = []
    try:
        # Rounds over all levels in turn rather than one level after the other: on a shared
        # machine the load changes by the minute, and this spreads it over every level alike.
        for round_ in range(1, args.rounds + 1):
            for level in levels:
                with BenchService(envs[level], workers=args.workers) as server_url:
                    storm = _storm_target(server_url, envs[level])
                    bench_log(f"round {round_}, {level:,} rows: warm-up")
                    asyncio.run(storm_run(_warm_up(storm, args.concurrency)))
                    cases = [
                        ("spread", args.concurrency, 5),
                        ("hot", args.concurrency, 1),
                        ("burst", args.burst_concurrency, 5),
                    ]
                    for name, concurrency, orgs in cases:
                        points.append(
                            _storm(storm, level, name, concurrency, orgs, args.ops, round_)
                        )
        if not args.no_concurrency_sweep:
            for level in dict.fromkeys((levels[0], levels[-1])):
                with BenchService(envs[level], workers=args.workers) as server_url:
                    storm = _storm_target(server_url, envs[level])
                    for concurrency in SWEEP_CONCURRENCY:
                        ops = max(300, min(args.ops // 2, concurrency * 40))
                        points.append(_storm(storm, level, "sweep", concurrency, 5, ops, 1))
        operations = _operator_timings(
            envs[levels[-1]]["DATABASE_URL"], envs[levels[-1]], workers=args.workers
        )
    finally:
        if not args.keep:
            for level in levels:
                _database_drop(owner_url, f"{args.database}_{level}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    machine = _machine()
    (out / "scale.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "loads": loads,
                "points": [asdict(p) for p in points],
                "operations": operations,
            },
            indent=2,
        )
    )
    markdown = scale_markdown(points, loads, operations, machine)
    (out / "scale.md").write_text(markdown)
    scale_plot(points, out / "scale.png")
    print(markdown)
    bench_log(f"wrote {out / 'scale.md'}, {out / 'scale.json'}, {out / 'scale.png'}")
    correct = all(p.verdict == "CORRECT" for p in points)
    return 0 if correct and operations["reconcile"]["exit_code"] == 0 else 1


def _warm_up(storm: dict, concurrency: int) -> StormConfig:
    """300 operations before the measured storms, with as many copies as fit in flight (the
    storms' own rule, in _storm: at 1 or 2 in flight, fewer than DUP)."""
    return StormConfig(**storm, ops=300, dup=min(DUP, concurrency), concurrency=concurrency)


def _storm_target(url: str, env: dict[str, str]) -> dict:
    return {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.scale", description=__doc__)
    parser.add_argument(
        "--levels",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[0, 1_000_000, 10_000_000],
        help="history rows to measure at, comma-separated",
    )
    parser.add_argument("--ops", type=int, default=6000, help="operations per storm")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--burst-concurrency", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--database", default="payments_scale", help="prefix of its databases")
    parser.add_argument("--out", default=str(ROOT / "build" / "bench"))
    parser.add_argument("--no-concurrency-sweep", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="storms per level and case")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    return parser


def _database_fresh(base_url: str, name: str) -> str:
    """Drop and create database `name` on base_url's server; return its URL."""
    params = conninfo_to_dict(base_url)
    if params.get("dbname") == name:
        sys.exit(f"DATABASE_URL already names {name}: give the benchmark a database of its own")
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _database_url(base_url, name)


def _database_url(url: str, name: str) -> str:
    """url, naming database `name` instead of its own."""
    return make_conninfo(**{**conninfo_to_dict(url), "dbname": name})


def _database_drop(base_url: str, name: str) -> None:
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _history_load(url: str, *, first: int, count: int) -> dict:
    bench_log(f"loading {count:,} payments from #{first:,}")
    started = time.monotonic()

    def progress(message: str) -> None:
        bench_log(f"  {time.monotonic() - started:6.1f} s  {message}")

    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        # Losing the last commits in a crash is fine for a benchmark's history.
        cursor.execute("SET synchronous_commit = off")
        history_load(
            cursor,
            first=first,
            count=count,
            organizations=ORGANIZATIONS,
            rebuild_indexes=count >= 100_000,
            progress=progress,
        )
    loaded = time.monotonic() - started
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        history_vacuum(cursor)
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            # Superusers and pg_checkpoint members only; without it, a checkpoint may land
            # during a storm.
            cursor.execute("CHECKPOINT")
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    total = time.monotonic() - started
    bench_log(
        f"loaded in {loaded:.0f} s, vacuumed and checkpointed by {total:.0f} s; database {size}"
    )
    return {
        "first": first,
        "count": count,
        "load_seconds": round(loaded, 1),
        "total_seconds": round(total, 1),
        "database_size": size,
    }


def _storm(
    storm: dict, rows: int, case: str, concurrency: int, orgs: int, ops: int, round_: int
) -> Point:
    dup = min(DUP, concurrency)
    bench_log(f"{rows:,} rows: {case}, concurrency {concurrency}, {ops} operations x {dup}")
    report = asyncio.run(
        storm_run(StormConfig(**storm, ops=ops, dup=dup, concurrency=concurrency, org_count=orgs))
    )
    verdict = "CORRECT" if report.ok else "INCORRECT"
    if report.server_errors:
        verdict += f" ({report.server_errors} 5xx)"
    return Point(
        rows, case, concurrency, report.rps, report.p50_ms, report.p99_ms, verdict,
        os.getloadavg()[0], round_,
    )  # fmt: skip


# --- what operators and the periodic jobs run, at the last level -------------------------------


def _operator_timings(url: str, env: dict[str, str], *, workers: int) -> dict:
    return {
        "requeue": _requeue_timing(url, env),
        "reconcile": _reconcile_timing(env),
        "admin": _admin_timings(env, workers=workers),
    }


def _requeue_timing(url: str, env: dict[str, str]) -> dict:
    """The requeue's query (payments.services.requeue.PENDING_WITHOUT_LIVE_JOB), as it runs."""
    os.environ.update(env)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    django.setup()
    from django.conf import settings

    from payments.models import CREDIT_TASK
    from payments.services.requeue import PENDING_WITHOUT_LIVE_JOB

    params = {"grace": 60, "task": CREDIT_TASK, "max_requeues": settings.PAYMENTS_REQUEUE_MAX}
    with psycopg.connect(url, autocommit=True) as conn:
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            conn.execute(PENDING_WITHOUT_LIVE_JOB, params).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
        plan = conn.execute("EXPLAIN " + PENDING_WITHOUT_LIVE_JOB, params).fetchall()
    indexes = sorted({line for (line,) in plan if " using " in line.lower()})
    bench_log(f"requeue query: {statistics.median(timings):.2f} ms")
    return {"median_ms": round(statistics.median(timings), 2), "plan": [i.strip() for i in indexes]}


def _reconcile_timing(env: dict[str, str]) -> dict:
    """`manage.py reconcile`, timed, with its peak resident memory (GNU time)."""
    bench_log("reconcile")
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "manage.py", "reconcile"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    peak_kb = int(result.stderr.strip().splitlines()[-1]) if result.stderr.strip() else None
    summary = result.stdout.strip().splitlines()[-1:] or result.stderr.strip().splitlines()[-2:-1]
    bench_log(f"reconcile: {seconds:.1f} s, peak {peak_kb} kB, exit {result.returncode}")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_kb / 1024) if peak_kb else None,
        "exit_code": result.returncode,
        "summary": summary[0] if summary else "",
    }


def _admin_timings(env: dict[str, str], *, workers: int) -> dict:
    """GET each admin list page (first page, default ordering) as a logged-in superuser."""
    password = "scale-bench-" + os.urandom(8).hex()
    admin_env = {
        **env,
        "DJANGO_SUPERUSER_PASSWORD": password,
        # Plain HTTP on 127.0.0.1: cookies that are not HTTPS-only.
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
    }
    command_run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", "scale",
         "--email", "scale@example.com"],
        admin_env,
    )  # fmt: skip
    timings = {}
    with (
        BenchService(admin_env, workers=workers) as url,
        httpx.Client(base_url=url, timeout=120) as c,
    ):
        login = f"{admin_prefix()}login/"
        c.get(login)
        c.post(
            login,
            data={
                "username": "scale",
                "password": password,
                "csrfmiddlewaretoken": c.cookies["csrftoken"],
                "next": admin_prefix(),
            },
            headers={"Referer": url + login},
        )
        for page in ADMIN_LISTS:
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                response = c.get(f"{admin_prefix()}{page}/")
                runs.append((time.perf_counter() - started) * 1000)
            timings[page] = {"status": response.status_code, "best_ms": round(min(runs), 1)}
            bench_log(f"admin {page}: {timings[page]}")
    return timings


# --- output ------------------------------------------------------------------------------------


if __name__ == "__main__":
    sys.exit(main())
