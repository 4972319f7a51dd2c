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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg.errors
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DataError, connection, transaction
from procrastinate.contrib.django import app as jobs

from core.db import db_pool_get, db_timeouts_local
from payments.errors import BalanceOverflow, PaymentConflict
from payments.models import CREDIT_TASK, Payment
from payments.outcomes import PaymentOutcome
from payments.services.identity import PaymentIdentity, bank_day, lock_params
from payments.services.ledger_sql import (
    CREDIT_ORGANIZATION,
    ENSURE_PAYER,
    LOCK_OPERATION,
    MARK_PAYMENT_CREDITED,
    RECORD_PAYMENT,
)
from payments.services.sql_steps import (
    Steps,
    steps_joined,
    steps_run,
    steps_transaction_async,
    timeouts_steps,
)

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

    @property
    def identity(self) -> PaymentIdentity:
        return PaymentIdentity(
            payer_inn=self.payer_inn,
            document_number=self.document_number,
            document_day=bank_day(self.document_date),
            amount=self.amount,
        )


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
    with balance_overflow_refused(operation_id=data.operation_id, payer_inn=data.payer_inn):
        # No log line here: the request's summary line (payments.webhook_observation) has it.
        async with db_pool_get().connection() as conn:
            return await steps_transaction_async(payment_process_steps(data), conn)


def payment_process(*, data: PaymentData) -> PaymentResult:
    """payment_process_async's transaction (same steps, same contract) on Django's
    connection, for a process without the async pool.

    Kept for payment_receive: the pool is opened by the ASGI lifespan protocol, which
    `manage.py runserver` and Daphne never send, so there the webhook would fail without it;
    Django's test client and tests that set up data inside their own transaction use it too.
    The race and property tests run payment_process_async, the path a server runs.
    """
    with (
        balance_overflow_refused(operation_id=data.operation_id, payer_inn=data.payer_inn),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        return steps_run(payment_process_steps(data), cursor)


def payment_accept(*, data: PaymentData) -> PaymentResult:
    """Record a bank operation as pending and enqueue its credit, in one transaction.

    Returns ACCEPTED once the payment and its job are committed together (neither exists
    without the other). Duplicates and conflicts are decided at once, exactly as in
    payment_process_async, also while the first delivery is still pending.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        recorded = steps_run(_payment_record_steps(data, status=Payment.Status.PENDING), cursor)
        if recorded is None:
            return PaymentResult(PaymentOutcome.DUPLICATE)
        payment_id, _ = recorded
        # procrastinate's Django connector writes the job through this same connection, so
        # the job commits or rolls back with the payment.
        payment_credit_defer(payment_id)
    logger.debug("payment accepted operation_id=%s payment_id=%s", data.operation_id, payment_id)
    return PaymentResult(PaymentOutcome.ACCEPTED)


def payment_credit(*, payment_id: int) -> bool:
    """Credit a pending payment to its organization; the worker's job.

    Idempotent: returns True if this call credited the payment, False if it was already
    credited (a redelivered or retried job). Concurrent calls for one payment credit it once.
    Raises BalanceOverflow, leaving the payment pending, if the credit would overflow.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        steps_run(timeouts_steps(), cursor)
        cursor.execute(MARK_PAYMENT_CREDITED, [payment_id])
        row = cursor.fetchone()
        if row is None:
            logger.info("payment already credited payment_id=%s", payment_id)
            return False
        operation_id, payer_inn, amount = row
        with balance_overflow_refused(operation_id=operation_id, payer_inn=payer_inn):
            balance_after = steps_run(
                organization_credit_steps(
                    payer_inn=payer_inn, amount=amount, payment_id=payment_id
                ),
                cursor,
            )
    _log_credited(
        operation_id=operation_id, payer_inn=payer_inn, amount=amount, balance_after=balance_after
    )
    return True


def payment_credit_defer(payment_id: int) -> None:
    """Enqueue payments.tasks.payment_credit_job, by name (that module imports this one)."""
    jobs.configure_task(CREDIT_TASK, allow_unknown=False).defer(payment_id=payment_id)


# --- The transactions' steps, written once for both drivers (payments.services.sql_steps) ---------


def payment_process_steps(
    data: PaymentData, *, source: str = Payment.Source.WEBHOOK, locked: bool = False
) -> Steps[PaymentResult]:
    """Record and credit: the whole sync-mode transaction (payment_process), one step; a
    statement line with an operation id runs it too (source, and locked when its batch holds
    the locks)."""
    recorded = yield from _payment_record_steps(
        data, status=Payment.Status.CREDITED, source=source, locked=locked
    )
    if recorded is None:
        return PaymentResult(PaymentOutcome.DUPLICATE)
    _, balance_after = recorded
    return PaymentResult(PaymentOutcome.CREDITED, balance_after)


def _payment_record_steps(
    data: PaymentData,
    *,
    status: str,
    source: str = Payment.Source.WEBHOOK,
    locked: bool = False,
    synthetic: bool = False,
) -> Steps[tuple[int, int | None] | None]:
    """Record the payment under the operation's and the identity's locks, creating its
    organization if needed, and credit it when status is credited: one step. Returns (payment
    id, balance after the credit or None) if recorded; None (after checking) if the operation
    was recorded before or a statement payment of its identity took its operation id."""
    identity = data.identity
    params = {
        "operation_id": data.operation_id,
        "payer_inn": data.payer_inn,
        "amount": data.amount,
        "document_number": data.document_number,
        "document_date": data.document_date,
        "document_day": identity.document_day,
        "source": source,
        "synthetic": synthetic,
        "claimable": not synthetic,
        "status": status,
    }
    statements = [(ENSURE_PAYER, params), (RECORD_PAYMENT, params)]
    if not locked:
        # First in its transaction (payment_process, payment_process_async, payment_accept).
        # Deliveries of one operation run one after another; different operations wait only
        # when they share a business identity.
        statements.insert(0, (LOCK_OPERATION, lock_params(data.operation_id, identity)))
        timeouts = db_timeouts_local()
        if timeouts is not None:
            statements.insert(0, timeouts)
    *_, created, recorded = yield steps_joined(*statements)
    if created is not None:
        logger.warning(
            "organization created by its first payment payer_inn=%s operation_id=%s",
            data.payer_inn,
            data.operation_id,
        )
    if recorded is None:  # impossible under the locks: the operation id was free and no claim
        raise RuntimeError(f"payment of {data.operation_id} neither inserted nor claimed")
    payment_id, balance_after, claimed_id, *differing = recorded
    if payment_id is not None:
        return payment_id, balance_after
    if claimed_id is not None:
        logger.info(
            "payment duplicate of a statement credit operation_id=%s payment_id=%s",
            data.operation_id,
            claimed_id,
        )
        return None
    _payment_check_same(data, differing)
    logger.debug("payment duplicate operation_id=%s", data.operation_id)
    return None


def organization_credit_steps(*, payer_inn: str, amount: int, payment_id: int) -> Steps[int]:
    """Add amount to the balance and log it; return the new balance."""
    credited = yield (
        CREDIT_ORGANIZATION,
        {"amount": amount, "inn": payer_inn, "payment_id": payment_id},
    )
    return credited[0]


@contextlib.contextmanager
def balance_overflow_refused(*, operation_id: UUID, payer_inn: str) -> Iterator[None]:
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
    (differs: RECORD_PAYMENT's comparison)."""
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
