"""Writes. Every change to money happens here, inside one database transaction per call.

Two ways to process a delivery, chosen by settings.WEBHOOK_PROCESSING (payment_receive):
- sync: payment_process_async records and credits in one transaction on the async pool;
- background: payment_accept records the payment as pending and enqueues its credit job in the
  same transaction; a worker runs payment_credit. "Acknowledged" therefore always means
  "durably recorded, with its credit job committed beside it".
"""

import contextlib
import enum
import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg.errors
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DataError, connection, transaction
from procrastinate.contrib.django import app as jobs

from core.db import db_pool_get, db_timeouts_local
from payments.errors import BalanceOverflow, PaymentConflict
from payments.models import CREDIT_TASK, Organization, Payment
from payments.outcomes import PaymentOutcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentResult:
    outcome: PaymentOutcome
    # The organization's balance right after this credit; None when no balance moved
    # (a duplicate, or an operation accepted for a background credit).
    balance_after: int | None = None


class ProcessingMode(enum.Enum):
    SYNC = "sync"
    BACKGROUND = "background"


@dataclass(frozen=True)
class PaymentData:
    """What the bank reported about one operation, already validated."""

    operation_id: UUID
    amount: int
    payer_inn: str
    document_number: str
    document_date: datetime


def advisory_key(operation_id: UUID) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, taken from the UUID's first 8 bytes.

    UUIDs are random, so collisions are rare; a collision only makes two unrelated operations
    wait for each other, it never merges them (the unique index decides identity).
    """
    return int.from_bytes(operation_id.bytes[:8], "big", signed=True)


_LOCK_OPERATION = "SELECT pg_advisory_xact_lock(%s)"

# credited_at is the statement's time, as created_at's column default (Django's Now()) is: the
# transaction's now() would be its start, before the advisory lock's wait, so a payment would
# read as credited before it was created.
_INSERT_PAYMENT = """
    INSERT INTO payment
        (operation_id, payer_inn, amount, document_number, document_date, status, credited_at)
    VALUES (%(operation_id)s, %(payer_inn)s, %(amount)s, %(document_number)s,
            %(document_date)s, %(status)s::text,
            CASE WHEN %(status)s::text = 'credited' THEN statement_timestamp() END)
    ON CONFLICT (operation_id) DO NOTHING
    RETURNING id
"""

# DO NOTHING takes no row lock, so creating a missing organization costs the others nothing.
_ENSURE_ORGANIZATION = """
    INSERT INTO organization (inn, name, balance) VALUES (%s, '', 0)
    ON CONFLICT (inn) DO NOTHING
    RETURNING id
"""

# The increment happens inside PostgreSQL: concurrent credits queue on the row lock and each adds
# to the committed value, so no update is lost. It runs last, so the row is held only until commit.
_CREDIT_ORGANIZATION = """
    WITH credited AS (
        UPDATE organization SET balance = balance + %(amount)s, updated_at = now()
        WHERE inn = %(inn)s
        RETURNING id, balance
    )
    INSERT INTO balance_log (organization_id, payment_id, delta, balance_after)
    SELECT id, %(payment_id)s, %(amount)s, balance FROM credited
    RETURNING balance_after
"""

# Which fields of the stored payment differ from this delivery, compared by PostgreSQL: the
# dates as instants, so neither the session's time zone nor its DST folds can matter.
_PAYMENT_FIELDS_DIFFERING = """
    SELECT amount <> %(amount)s, payer_inn <> %(payer_inn)s,
           document_number <> %(document_number)s, document_date <> %(document_date)s
    FROM payment WHERE operation_id = %(operation_id)s
"""

# The row lock taken by this UPDATE serializes concurrent runs of one payment's job; the status
# condition makes every run after the first a no-op.
_MARK_PAYMENT_CREDITED = """
    UPDATE payment SET status = 'credited', credited_at = statement_timestamp()
    WHERE id = %s AND status = 'pending'
    RETURNING operation_id, payer_inn, amount
"""


async def payment_receive(*, data: PaymentData) -> PaymentResult:
    """Process a validated delivery in the configured mode (settings.WEBHOOK_PROCESSING).

    Same contract as payment_process_async (sync mode) or payment_accept (background). Without
    an open pool (see payment_process) the sync mode runs on Django's connection in one hop.
    """
    if ProcessingMode(settings.WEBHOOK_PROCESSING) is ProcessingMode.BACKGROUND:
        return await sync_to_async(payment_accept)(data=data)
    if db_pool_get() is not None:
        return await payment_process_async(data=data)
    return await sync_to_async(payment_process)(data=data)


async def payment_process_async(*, data: PaymentData) -> PaymentResult:
    """Record a bank operation and credit the payer's organization, exactly once; the server's
    hot path, on the process's async pool (core.db) with no thread hop.

    Returns the outcome and, when credited, the balance right after the credit. Idempotent on
    operation_id, including under concurrent deliveries: a repeat with the same content changes
    nothing and returns DUPLICATE; one with different content raises PaymentConflict and changes
    nothing. An unknown payer_inn gets its organization created, so money that arrived is never
    refused. Raises BalanceOverflow (nothing recorded) if the credit would overflow the balance.
    The pool must be open (a server's startup opens it); a database that is down or a pool that
    stays busy raises psycopg's OperationalError (answered 503).
    """
    with _overflow_refused(operation_id=data.operation_id, payer_inn=data.payer_inn):
        async with (
            db_pool_get().connection() as conn,
            conn.transaction(),
            conn.cursor() as cursor,
        ):
            # No log line here: the request's summary line (payments.webhook_observation) has it.
            return await _statements_run_async(_payment_process_statements(data), cursor)


def payment_process(*, data: PaymentData) -> PaymentResult:
    """payment_process_async's transaction (same statements, same contract) on Django's
    connection, for a process without the async pool.

    Kept for payment_receive: the pool is opened by the ASGI lifespan protocol, which
    `manage.py runserver` and Daphne never send, so there the webhook would fail without it;
    Django's test client and tests that set up data inside their own transaction use it too.
    The race and property tests run payment_process_async, the path a server runs.
    """
    with (
        _overflow_refused(operation_id=data.operation_id, payer_inn=data.payer_inn),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        return _statements_run(_payment_process_statements(data), cursor)


def payment_accept(*, data: PaymentData) -> PaymentResult:
    """Record a bank operation as pending and enqueue its credit, in one transaction.

    Returns ACCEPTED once the payment and its job are committed together (neither exists
    without the other). Duplicates and conflicts are decided at once, exactly as in
    payment_process_async, also while the first delivery is still pending.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        payment_id = _statements_run(
            _payment_record_statements(data, status=Payment.Status.PENDING), cursor
        )
        if payment_id is None:
            return PaymentResult(PaymentOutcome.DUPLICATE)
        # The payment references its organization; create it now so the deferred FK holds.
        _statements_run(_organization_ensure_statements(data), cursor)
        # procrastinate's Django connector writes the job through this same connection, so
        # the job commits or rolls back with the payment.
        _payment_credit_defer(payment_id)
    logger.debug("payment accepted operation_id=%s payment_id=%s", data.operation_id, payment_id)
    return PaymentResult(PaymentOutcome.ACCEPTED)


def payment_credit(*, payment_id: int) -> bool:
    """Credit a pending payment to its organization; the worker's job.

    Idempotent: returns True if this call credited the payment, False if it was already
    credited (a redelivered or retried job). Concurrent calls for one payment credit it once.
    Raises BalanceOverflow, leaving the payment pending, if the credit would overflow.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _statements_run(_timeouts_statements(), cursor)
        cursor.execute(_MARK_PAYMENT_CREDITED, [payment_id])
        row = cursor.fetchone()
        if row is None:
            logger.info("payment already credited payment_id=%s", payment_id)
            return False
        operation_id, payer_inn, amount = row
        with _overflow_refused(operation_id=operation_id, payer_inn=payer_inn):
            balance_after = _statements_run(
                _organization_credit_statements(
                    payer_inn=payer_inn, amount=amount, payment_id=payment_id
                ),
                cursor,
            )
    _log_credited(
        operation_id=operation_id, payer_inn=payer_inn, amount=amount, balance_after=balance_after
    )
    return True


# Pending payments past the grace period with no live credit job (none queued or running), with
# how many of their credit jobs ended (failed, cancelled; a succeeded one, which cannot leave its
# payment pending, counts too, so that nothing is retried without bound). Jobs are matched on
# their arguments, so the ones the requeue or an operator added count too.
_PENDING_WITHOUT_LIVE_JOB = """
    SELECT p.id, count(j.id) AS ended
    FROM payment p
    LEFT JOIN procrastinate_jobs j
        ON j.task_name = %(task)s AND j.args = jsonb_build_object('payment_id', p.id)
    WHERE p.status = 'pending' AND p.created_at < now() - make_interval(secs => %(grace)s)
    GROUP BY p.id
    HAVING count(j.id) FILTER (WHERE j.status IN ('todo', 'doing', 'aborting')) = 0
       AND (%(max_requeues)s::int IS NULL OR count(j.id) <= %(max_requeues)s::int)
    ORDER BY p.id
    LIMIT 1000
"""


def payment_pending_requeue(*, older_than_seconds: int, max_requeues: int | None) -> list[int]:
    """Give a new credit job to each pending payment, older than older_than_seconds, that has
    no job queued or running; return their ids.

    That is a payment whose job was deleted (by hand, or by a job-table cleanup), or whose
    jobs all ended failed or cancelled. Crediting is idempotent, so a new job is always safe;
    max_requeues bounds how many failed or cancelled jobs a payment may have and still get one
    (None: no bound, for an operator who has fixed the cause), so that a payment that cannot be
    credited is not retried for ever: it stays pending, which payments_pending_payments and
    reconcile report.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        _statements_run(_timeouts_statements(), cursor)
        cursor.execute(
            _PENDING_WITHOUT_LIVE_JOB,
            {"grace": older_than_seconds, "task": CREDIT_TASK, "max_requeues": max_requeues},
        )
        requeued = cursor.fetchall()
        for payment_id, ended in requeued:
            if ended == 0:
                logger.warning("requeueing pending payment without a job payment_id=%s", payment_id)
            else:
                # The last automatic retry says so, once: after it, only an operator retries.
                last = max_requeues is not None and ended == max_requeues
                logger.log(
                    logging.ERROR if last else logging.WARNING,
                    "retrying credit of pending payment whose jobs ended without crediting it"
                    " payment_id=%s ended_jobs=%s max_requeues=%s%s",
                    payment_id,
                    ended,
                    max_requeues,
                    " (last automatic retry)" if last else "",
                )
            _payment_credit_defer(payment_id)
    return [payment_id for payment_id, _ in requeued]


def _payment_credit_defer(payment_id: int) -> None:
    """Enqueue payments.tasks.payment_credit_job, by name (that module imports this one)."""
    jobs.configure_task(CREDIT_TASK, allow_unknown=False).defer(payment_id=payment_id)


# --- The transactions' statements, written once for both drivers ----------------------------------
# Each is a generator: it yields (sql, params), is sent back the statement's first row (or None),
# and returns its result. _statements_run executes them on Django's cursor (sync code, a worker
# thread), _statements_run_async on a psycopg async cursor (the server's hot path): the same
# statements in the same order either way, so the SQL and its order live in one place.

Statement = tuple[str, Mapping[str, Any] | Sequence[Any]]
Row = tuple | None
T = TypeVar("T")
Statements = Generator[Statement, Row, T]


def _statements_run(statements: Statements[T], cursor) -> T:
    try:
        statement = next(statements)
        while True:
            cursor.execute(*statement)
            statement = statements.send(cursor.fetchone())
    except StopIteration as done:
        return done.value


async def _statements_run_async(statements: Statements[T], cursor) -> T:
    try:
        statement = next(statements)
        while True:
            await cursor.execute(*statement)
            statement = statements.send(await cursor.fetchone())
    except StopIteration as done:
        return done.value


def _payment_process_statements(data: PaymentData) -> Statements[PaymentResult]:
    """Record and credit: the whole sync-mode transaction (payment_process)."""
    payment_id = yield from _payment_record_statements(data, status=Payment.Status.CREDITED)
    if payment_id is None:
        return PaymentResult(PaymentOutcome.DUPLICATE)
    yield from _organization_ensure_statements(data)
    # Last, right before commit: the organization's row is locked only from here.
    balance_after = yield from _organization_credit_statements(
        payer_inn=data.payer_inn, amount=data.amount, payment_id=payment_id
    )
    return PaymentResult(PaymentOutcome.CREDITED, balance_after)


def _timeouts_statements() -> Statements[None]:
    """Bound this transaction's waits when the session does not (behind a transaction pooler)."""
    statement = db_timeouts_local()
    if statement is not None:
        yield statement


def _payment_record_statements(data: PaymentData, *, status: str) -> Statements[int | None]:
    """Insert the payment under the operation's lock; None (after checking) if it exists."""
    # First in its transaction (payment_process, payment_process_async, payment_accept).
    yield from _timeouts_statements()
    # Deliveries of one operation run one after another; different operations never wait.
    yield _LOCK_OPERATION, [advisory_key(data.operation_id)]
    fields = {
        "operation_id": data.operation_id,
        "payer_inn": data.payer_inn,
        "amount": data.amount,
        "document_number": data.document_number,
        "document_date": data.document_date,
    }
    inserted = yield _INSERT_PAYMENT, {**fields, "status": status}
    if inserted is not None:
        return inserted[0]
    differing = yield _PAYMENT_FIELDS_DIFFERING, fields
    _payment_check_same(data, differing)
    logger.debug("payment duplicate operation_id=%s", data.operation_id)
    return None


def _organization_ensure_statements(data: PaymentData) -> Statements[None]:
    created = yield _ENSURE_ORGANIZATION, [data.payer_inn]
    if created is not None:
        logger.warning(
            "organization created by its first payment payer_inn=%s operation_id=%s",
            data.payer_inn,
            data.operation_id,
        )


def _organization_credit_statements(
    *, payer_inn: str, amount: int, payment_id: int
) -> Statements[int]:
    """Add amount to the balance and log it; return the new balance."""
    credited = yield (
        _CREDIT_ORGANIZATION,
        {"amount": amount, "inn": payer_inn, "payment_id": payment_id},
    )
    return credited[0]


@contextlib.contextmanager
def _overflow_refused(*, operation_id: UUID, payer_inn: str) -> Iterator[None]:
    """Turn PostgreSQL's "bigint out of range" on the balance into BalanceOverflow.

    Django wraps psycopg's error in its DataError; the async path gets psycopg's own.
    """
    try:
        yield
    except (DataError, psycopg.errors.NumericValueOutOfRange) as exc:
        cause = exc.__cause__ if isinstance(exc, DataError) else exc
        if not isinstance(cause, psycopg.errors.NumericValueOutOfRange):
            raise
        logger.error("payment refused, balance overflow operation_id=%s", operation_id)
        raise BalanceOverflow(
            "Crediting this amount would overflow the organization's balance.",
            details={"payer_inn": payer_inn},
        ) from exc


def _log_credited(*, operation_id: UUID, payer_inn: str, amount: int, balance_after: int) -> None:
    """The worker's record of a credit (a request has its own summary line instead)."""
    logger.info(
        "payment credited operation_id=%s payer_inn=%s amount=%s balance_after=%s",
        operation_id,
        payer_inn,
        amount,
        balance_after,
    )


def _payment_check_same(data: PaymentData, differs: tuple) -> None:
    """Raise PaymentConflict if the stored payment differs from this delivery in any field
    (differs: _PAYMENT_FIELDS_DIFFERING's row)."""
    differing = [
        field
        for field, field_differs in zip(
            ("amount", "payer_inn", "document_number", "document_date"), differs, strict=True
        )
        if field_differs
    ]
    if differing:
        logger.warning(
            "payment conflict operation_id=%s differing_fields=%s",
            data.operation_id,
            ",".join(differing),
        )
        raise PaymentConflict(
            "This operation_id was already received with different content.",
            details={"operation_id": str(data.operation_id), "differing_fields": differing},
        )


def organization_seed(*, organizations: list[tuple[str, str]]) -> list[tuple[Organization, bool]]:
    """Create each (inn, name) with a zero balance unless it exists; never touch a balance.

    Idempotent: running it again returns the same organizations with created=False.
    """
    with transaction.atomic():
        return [
            Organization.objects.get_or_create(inn=inn, defaults={"name": name})
            for inn, name in organizations
        ]
