"""`make bench-statements-file`: a 100,000-line 1C file parsed and imported, as the command and
the API do it, while the duplicate storm hits a real server; then the storm's verdict.

    python -m loadtest.statement_file [--lines 100000] [--storm-ops 3000] [--concurrency 16]

The file comes from testsupport.statements (the parsers' benchmark lines, made unique per run).
The import runs in this process on the local database (the embedded one under make); the storm
runs against a production-configured uvicorn on the same database, from a thread, started just
before the parse. Prints the parse and import seconds, this process's peak memory (VmHWM) before
and after, the report's counts and the storm's verdict; exits 1 unless the storm is CORRECT and
reconcile finds every balance equal to its log. A benchmark: numbers go to docs/performance.md.
"""

import argparse
import asyncio
import dataclasses
import gc
import re
import sys
import threading
import time
import uuid

from loadtest.django_setup import django_ready


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    django_ready()
    return _run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.statement_file")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--storm-ops", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    return parser


def _peak_reset() -> None:
    """Start the high-water mark afresh: the file's generation is not the import's memory."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _peak_kib() -> int:
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read())[1])


def _file(lines: int) -> bytes:
    from testsupport.statements import benchmark_specs, one_c_statement

    run = uuid.uuid4().hex[:8]  # a fresh file (and fresh payments) on every run
    specs = [
        dataclasses.replace(spec, document_number=f"{run}-{spec.document_number}")
        for spec in benchmark_specs(lines)
    ]
    period = (min(s.document_date for s in specs), max(s.document_date for s in specs))
    return one_c_statement(specs, period=period)


def _run(args) -> int:
    from django.conf import settings

    from loadtest.bench_service import BenchService, production_env
    from loadtest.storm import storm_run
    from loadtest.storm_plan import StormConfig
    from payments.reconciliation import reconciliation_report
    from statements.imports import statement_file_import

    data = _file(args.lines)
    print(f"file: {args.lines} lines of 1C, {len(data) / 2**20:.1f} MiB")
    env = production_env(settings.DATABASE_URL)
    with BenchService(env, workers=args.workers) as url:
        config = StormConfig(
            url=url,
            ops=args.storm_ops,
            concurrency=args.concurrency,
            secret=env["BANK_WEBHOOK_SECRETS"],
            token=env["API_TOKENS"],
        )
        storm: dict = {}
        thread = threading.Thread(  # a daemon: an import that fails ends the run
            target=lambda: storm.update(report=asyncio.run(storm_run(config))), daemon=True
        )
        _peak_reset()
        before = _peak_kib()
        thread.start()
        started = time.perf_counter()
        report = statement_file_import(data=data, filename="bench.txt")
        seconds = time.perf_counter() - started
        peak = _peak_kib()
        thread.join()
    storm_report = storm["report"]
    ledger = reconciliation_report(include_ok=False)
    verdict = "CORRECT" if storm_report.ok else "INCORRECT"
    print(
        f"parse + import: {seconds:.1f} s; peak memory {peak / 1024:.0f} MiB "
        f"({before / 1024:.0f} MiB before: the interpreter and the file's bytes)"
    )
    print(
        f"report: {len(report.matched)} matched, {len(report.credited)} credited, "
        f"{len(report.conflicts)} conflicts, {report.statement.lines_outgoing} outgoing"
    )
    print(
        f"storm during the import: {config.ops} operations x {config.dup}, "
        f"{storm_report.rps:.0f} req/s, p99 {storm_report.p99_ms:.0f} ms: {verdict}"
    )
    print(f"reconcile: {'ok' if ledger.ok else 'MISMATCH'}")
    return 0 if storm_report.ok and ledger.ok else 1


if __name__ == "__main__":
    sys.exit(main())
