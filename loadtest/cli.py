"""`python -m loadtest`: a duplicate storm against a running server, and its verdict.

Exit code: 0 when the balances came out exact, every delivery was answered 200 and the server
never failed (a 503 retried to success is fine, reported); 1 otherwise; 2 when the storm could
not run (bad arguments, server unreachable, balance reads refused).
"""

import argparse
import asyncio
import dataclasses
import os
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loadtest.report import report_json, report_print
from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig, StormError, StormReport

try:
    from uvloop import run as _loop_run  # ~10% less CPU per request than asyncio's own loop
except ImportError:  # no uvloop build for this platform (Windows)
    _loop_run = asyncio.run

PHASES = {"send": "sending", "credit": "waiting for credits (organizations)"}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = StormConfig(
            url=args.url.rstrip("/"),
            ops=args.ops,
            dup=args.dup,
            concurrency=args.concurrency,
            orgs=tuple(args.orgs or ()),
            org_count=1 if args.hot else 5,
            secret=args.secret or None,
            token=args.token or None,
            late_fraction=args.late,
            wait_credited=args.wait_credited,
            timeout=args.timeout,
            max_attempts=args.max_attempts,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        report = _run(config, progress=sys.stderr.isatty())
    except StormError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(report_json(report))
    else:
        report_print(report, Console())
    return 0 if report.ok else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="Send every bank operation several times at once and check the balances.",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server's base URL")
    parser.add_argument("--ops", type=int, default=5000, help="unique operations (default 5000)")
    parser.add_argument("--dup", type=int, default=3, help="copies of each, in flight together")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--orgs",
        type=lambda text: [inn.strip() for inn in text.split(",") if inn.strip()],
        metavar="INN,...",
        help="credit these organizations (default: 5 new ones, unique to this run)",
    )
    who.add_argument("--hot", action="store_true", help="one new organization takes every credit")
    parser.add_argument(
        "--secret",
        default=os.environ.get("BANK_WEBHOOK_SECRET"),
        metavar="whsec_...",
        help="sign the deliveries (default: $BANK_WEBHOOK_SECRET; none: unsigned)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("API_TOKEN"),
        help="bearer token for the balance reads (default: $API_TOKEN)",
    )
    parser.add_argument(
        "--wait-credited",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="background mode: wait this long for the worker's credits (default 60)",
    )
    parser.add_argument(
        "--late",
        type=float,
        default=0.05,
        metavar="FRACTION",
        help="share of operations sent once more after all others (default 0.05)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per attempt")
    parser.add_argument("--max-attempts", type=int, default=8, help="per delivery (default 8)")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no tables")
    return parser


def _run(config: StormConfig, *, progress: bool) -> StormReport:
    if not progress:
        return _loop_run(storm_run(config))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=Console(stderr=True), refresh_per_second=4, transient=True
    ) as bar:
        tasks = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(PHASES[phase], total=total)
            bar.update(tasks[phase], completed=done)

        return _loop_run(storm_run(dataclasses.replace(config, progress=advance)))
