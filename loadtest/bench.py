"""`make bench`: the service's throughput against the database's own ceiling, on this machine.

    python -m loadtest.bench [--ops 6000] [--concurrency 32] [--workers 2] [--json]
                             [--baseline ../shared/baseline [--rounds 2] [--baseline-workers 4]]

With DATABASE_URL set (make bench sets it, to the embedded PostgreSQL unless you gave one):
1. migrates, then starts the service as production runs it: uvicorn with N workers, DEBUG off,
   signed webhooks and read tokens (generated for this run);
2. runs the duplicate storm (loadtest.storm) for a spread case (5 organizations) and a hot case
   (1 organization) at --concurrency, then a burst at --burst-concurrency for correctness;
3. runs pgbench with a script built from the service's own SQL constants
   (payments.services.crediting): per operation one crediting transaction and two duplicate
   transactions, statement for statement what the service sends, at the same concurrency:
   the database's ceiling for this mix on this machine;
4. runs the spread storm once more against the service in background mode (a server and a
   procrastinate worker): acknowledgement rate and latency, and how long the worker takes to
   drain the backlog after the last delivery;
5. prints one table: req/s, p50/p99, drain, verdict, the ratio service / ceiling, and the CPU
   each storm cost the server's process tree and PostgreSQL's, per delivery (loadtest.cpu);
6. with --baseline DIR: starts that ordinary Django service (its run.sh, gunicorn) on a database
   of its own on the same PostgreSQL, and storms the two in turns, service then baseline,
   --rounds times (A B A B), printing each one's CPU per delivery and the ratio of the two.

A benchmark, not a test: it asserts nothing about time; it exits 1 only if a storm's verdict
is INCORRECT.
"""

import argparse
import asyncio
import json
import os
import sys

from loadtest.baseline import (
    side_by_side_correct,
    side_by_side_json,
    side_by_side_print,
    side_by_side_run,
)
from loadtest.bench_service import (
    DUP,
    BenchService,
    Row,
    bench_log,
    command_run,
    cpu_ms_shown,
    log_level_argument,
    ms_shown,
    postmaster_pid,
    production_env,
    storm_measured,
    storm_row,
)
from loadtest.pgbench import pgbench_binary, pgbench_tps
from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        sys.exit("DATABASE_URL is not set (run it through `make bench`).")
    env = production_env(database_url, log_level=args.log_level)
    os.environ.update(env)  # this process loads the settings too (pgbench_script)
    command_run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)

    database_pid = postmaster_pid(os.environ.get("DATABASE_OWNER_URL") or database_url)
    if args.baseline:
        side_by_side = side_by_side_run(args, env, database_url, database_pid)
        if not args.json:
            side_by_side_print(side_by_side)
        if args.side_by_side_only:
            if args.json:
                print(side_by_side_json(side_by_side))
            return 0 if side_by_side_correct(side_by_side) else 1

    rows: list[Row] = []
    service = BenchService(env, workers=args.workers)
    with service as url:
        storm = {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}
        bench_log("warm-up")
        asyncio.run(storm_run(StormConfig(**storm, ops=300, concurrency=args.concurrency)))
        cases = [
            ("spread (5 orgs)", args.concurrency, 5),
            ("hot (1 org)", args.concurrency, 1),
            ("burst, spread", args.burst_concurrency, 5),
        ]
        for name, concurrency, orgs in cases:
            bench_log(f"storm: {name}, concurrency {concurrency}")
            config = StormConfig(
                **storm, ops=args.ops, dup=DUP, concurrency=concurrency, org_count=orgs
            )
            report, cpu = storm_measured(config, service.process.pid, database_pid)
            rows.append(storm_row(name, concurrency, report, drain=False, cpu=cpu))

    # Background mode on the same database: the same storm, acknowledged before crediting;
    # drain = end of sending until the worker's credits made every balance exact.
    with BenchService({**env, "WEBHOOK_PROCESSING": "background"}, workers=args.workers) as url:
        storm = {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}
        bench_log(f"storm: background mode, spread, concurrency {args.concurrency}")
        config = StormConfig(**storm, ops=args.ops, dup=DUP, concurrency=args.concurrency)
        # The worker credits after the answers: its CPU is not the server's, so none is shown.
        report = asyncio.run(storm_run(config))
        rows.append(storm_row("background, spread", args.concurrency, report))

    pgbench = pgbench_binary()
    for row, orgs in zip(rows[:2], (5, 1), strict=True):
        bench_log(f"pgbench: {orgs} organization(s), {args.concurrency} clients, {args.seconds} s")
        tps = pgbench_tps(
            pgbench, database_url, orgs=orgs, clients=args.concurrency, seconds=args.seconds
        )
        row.ceiling_rps = tps * DUP  # each pgbench transaction is one operation's 3 deliveries

    if args.json:
        print(json.dumps([{**row.__dict__, "ratio": row.ratio} for row in rows], indent=2))
        if args.baseline:
            print(side_by_side_json(side_by_side))
    else:
        _print_table(rows, workers=args.workers)
    return 0 if all(row.verdict == "CORRECT" for row in rows) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__)
    parser.add_argument("--ops", type=int, default=6000, help="operations per storm")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--burst-concurrency", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=int, default=15, help="per pgbench run")
    parser.add_argument("--json", action="store_true")
    log_level_argument(parser)
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also storm this ordinary Django service (its run.sh) in turns with this one",
    )
    parser.add_argument("--rounds", type=int, default=2, help="side-by-side rounds (A B A B)")
    parser.add_argument("--baseline-workers", type=int, default=4, help="its gunicorn workers")
    parser.add_argument(
        "--side-by-side-only", action="store_true", help="with --baseline: skip the other storms"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="with --baseline: also storm Django's ASGI handler alone (loadtest/floor_app.py)",
    )
    return parser


# --- output ------------------------------------------------------------------------------------


COLUMNS = (
    "case", "conc.", "req/s", "p50 ms", "p99 ms", "drain s", "verdict", "ceiling", "ratio",
    "server CPU ms", "PG CPU ms",
)  # fmt: skip


def _print_table(rows: list[Row], *, workers: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench: {workers} uvicorn workers, {os.cpu_count()} CPUs, {DUP} copies")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("case", "verdict") else "right")
    for row in rows:
        table.add_row(
            row.case,
            str(row.concurrency),
            f"{row.rps:.0f}",
            ms_shown(row.p50_ms),
            ms_shown(row.p99_ms),
            "" if row.drain_seconds is None else f"{row.drain_seconds:.1f}",
            row.verdict,
            f"{row.ceiling_rps:.0f}" if row.ceiling_rps else "",
            f"{row.ratio:.1%}" if row.ratio else "",
            cpu_ms_shown(row.server_cpu_ms),
            cpu_ms_shown(row.db_cpu_ms),
        )
    Console(width=max(Console().width, 140)).print(table)
    print("ceiling: pgbench running the service's own SQL for the same mix, in deliveries/s")
    print("background: req/s and latency are acknowledgements; drain s = end of sending until")
    print("the worker had credited everything (balances exact)")
    print("CPU ms: per delivery during the storm, the server's process tree and PostgreSQL's")


if __name__ == "__main__":
    sys.exit(main())
