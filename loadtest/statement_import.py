"""`make bench-statements`: import a statement of --lines lines while webhooks of the same
payments storm in, and check the ledger after.

    python -m loadtest.statement_import [--lines 100000] [--credited 20000] [--storm 10000]

Before the clock starts, --credited of the statement's payments are credited by their webhooks
(the import must match them). Then the import runs while --threads threads deliver the webhooks
of --storm other payments of the statement (new operation ids: each is matched by the import,
or is a duplicate of the import's credit, whichever comes first); the remaining lines are
missed webhooks the import credits. Prints the import's wall time, the process's peak memory,
the storm's outcomes, and checks that every payment is in the ledger exactly once and every
balance equals its log (exit 1 otherwise). A benchmark: numbers go to docs/performance.md.
"""

import argparse
import datetime
import hashlib
import resource
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from loadtest.django_setup import django_ready


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    django_ready()
    return _run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.statement_import")
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--credited", type=int, default=20_000, help="by webhook, before")
    parser.add_argument("--storm", type=int, default=10_000, help="webhooks during the import")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--organizations", type=int, default=1_000)
    return parser


def _run(args) -> int:
    from django.db import connection

    from payments.outcomes import PaymentOutcome
    from payments.reconciliation import reconciliation_report
    from payments.services.crediting import PaymentData, payment_process
    from statements.services import statement_import
    from statements.types import (
        Direction,
        ParsedStatement,
        StatementFormat,
        StatementLine,
    )

    run = uuid.uuid4().hex[:8]
    day = datetime.date(2024, 4, 28)
    instant = datetime.datetime(2024, 4, 27, 21, 0, tzinfo=datetime.UTC)  # day, in Moscow
    inns = [f"9{int(run, 16) % 10**5:05d}{n:04d}" for n in range(args.organizations)]
    payments = [
        PaymentData(
            operation_id=uuid.uuid4(),
            amount=100 + n % 900,
            payer_inn=inns[n % len(inns)],
            document_number=f"ST-{run}-{n}",
            document_date=instant,
        )
        for n in range(args.lines)
    ]
    lines = tuple(
        StatementLine(
            position=n + 1,
            where=f"line {n + 1}",
            direction=Direction.INCOMING,
            amount=p.amount,
            currency="RUB",
            account="40702810900000000001",
            payer_inn=p.payer_inn,
            document_number=p.document_number,
            document_date=day,
            booking_date=day,
            operation_id=None,
        )
        for n, p in enumerate(payments)
    )
    total = sum(p.amount for p in payments)
    parsed = ParsedStatement(
        format=StatementFormat.ONE_C,
        version="1.03",
        accounts=("40702810900000000001",),
        period_start=day,
        period_end=day,
        created_at=None,
        opening_balance=0,
        closing_balance=total,
        total_incoming=total,
        total_outgoing=0,
        lines=lines,
        sha256=hashlib.sha256(run.encode()).hexdigest(),
    )
    before, storm = payments[: args.credited], payments[args.credited :][: args.storm]

    def deliver(share) -> Counter:
        try:
            return Counter(payment_process(data=data).outcome for data in share)
        finally:
            connection.close()

    def shares(items):
        return [items[i :: args.threads] for i in range(args.threads)]

    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        sum(pool.map(deliver, shares(before)), Counter())
    setup_seconds = time.perf_counter() - started
    _log(f"setup: {len(before):,} payments credited by webhook in {setup_seconds:.1f} s")

    storm_outcomes = Counter()
    with ThreadPoolExecutor(args.threads) as pool:
        storming = [pool.submit(deliver, share) for share in shares(storm)]
        started = time.perf_counter()
        report = statement_import(parsed=parsed)
        elapsed = time.perf_counter() - started
        for future in storming:
            storm_outcomes += future.result()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _log(
        f"import: {args.lines:,} lines in {elapsed:.1f} s ({args.lines / elapsed:,.0f} lines/s): "
        f"{len(report.matched):,} matched, {len(report.credited):,} credited, "
        f"{len(report.conflicts):,} conflicts; peak RSS {peak_mb:.0f} MB"
    )
    _log(
        "storm during the import: "
        + ", ".join(f"{o.value} {n:,}" for o, n in storm_outcomes.items())
    )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT operation_id) FROM payment WHERE document_number "
            "LIKE %s",
            [f"ST-{run}-%"],
        )
        rows, distinct = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM payment WHERE operation_id = ANY(%s)",
            [[p.operation_id for p in before + storm]],
        )
        (found,) = cursor.fetchone()
    ok = (
        rows == distinct == args.lines
        and found == len(before) + len(storm)
        and set(storm_outcomes) <= {PaymentOutcome.CREDITED, PaymentOutcome.DUPLICATE}
        and not report.conflicts
        and reconciliation_report().ok
    )
    _log(
        f"ledger: {rows:,} payments for {args.lines:,} lines; every webhook's operation id "
        f"found: {found == len(before) + len(storm)}; reconcile ok: {ok}"
    )
    return 0 if ok else 1


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
