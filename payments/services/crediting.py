"""Writes. Every change to money happens here, inside one database transaction per call.

Two ways to process a delivery, chosen by settings.WEBHOOK_PROCESSING (payment_receive):
- sync: payment_process_async records and credits in one transaction on the async pool;
- background: payment_accept records the payment as pending and enqueues its credit job in the
  same transaction; a worker runs payment_credit. "Acknowledged" therefore always means
  "durably recorded, with its credit job committed beside it".
"""

import contextlib
import enum
import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import psycopg.errors
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DataError, connection, transaction
from procrastinate.contrib.django import app as jobs

from core.db import db_pool_get
from payments.errors import BalanceOverflow, PaymentConflict
from payments.models import CREDIT_TASK, Payment
from payments.outcomes import PaymentOutcome
from payments.services.sql_steps import Steps, steps_run, steps_run_async, timeouts_steps

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


def bank_day(instant: datetime) -> date:
    """The instant's calendar date in the bank's zone (settings.BANK_TIME_ZONE)."""
    try:
        return instant.astimezone(ZoneInfo(settings.BANK_TIME_ZONE)).date()
    except OverflowError:  # past 9999-12-31 there: no statement can name that day anyway
        return date.max


def bank_day_start(day: date) -> datetime:
    """Midnight of a bank calendar date: a statement payment's document_date (it has no time)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(settings.BANK_TIME_ZONE))


@dataclass(frozen=True)
class PaymentIdentity:
    """A payment as a statement line without an operation id names it. Not unique: several
    payments may share one, and a statement matches as many of them as it has such lines."""

    payer_inn: str
    document_number: str
    document_day: date
    amount: int

    def lock_key(self) -> tuple[int, int]:
        """pg_advisory_xact_lock's two-int4 form: a keyspace apart from the operations' bigint."""
        fields = (self.payer_inn, self.document_number, self.document_day.isoformat())
        text = "\x1f".join((*fields, str(self.amount)))
        digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
        return (
            int.from_bytes(digest[:4], "big", signed=True),
            int.from_bytes(digest[4:], "big", signed=True),
        )


# The namespace of the operation ids given to statement payments that carry none.
IDENTITY_NAMESPACE = UUID("6f1b3f38-9a52-4e0b-9a55-2f4a1c9e1d22")


def identity_operation_id(identity: PaymentIdentity, *, ordinal: int) -> UUID:
    """The operation id of the ordinal-th payment of this identity (1-based), when a statement
    line without one credits it. Deterministic, and never reused: payments are never deleted,
    so the next ordinal is always past every one given before."""
    return uuid5(
        IDENTITY_NAMESPACE,
        f"{identity.payer_inn}|{identity.document_number}|{identity.document_day}"
        f"|{identity.amount}|{ordinal}",
    )


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


def advisory_key(operation_id: UUID) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, taken from the UUID's first 8 bytes.

    UUIDs are random, so collisions are rare; a collision only makes two unrelated operations
    wait for each other, it never merges them (the unique index decides identity).
    """
    return int.from_bytes(operation_id.bytes[:8], "big", signed=True)


# The operation's lock, then its business identity's, always in this order (a statement batch
# takes all its operations' before all its identities', so no two transactions wait in a cycle).
# The identity lock serializes a webhook with a statement crediting the same payment under
# another (or no) operation id. One round trip for both.
LOCK_OPERATION = (
    "SELECT pg_advisory_xact_lock(%(operation_key)s), "
    "pg_advisory_xact_lock(%(identity_high)s, %(identity_low)s)"
)

# credited_at is the statement's time, as created_at's column default (Django's Now()) is: the
# transaction's now() would be its start, before the advisory lock's wait, so a payment would
# read as credited before it was created. With claimable, nothing is inserted while a statement
# payment of the same identity still waits for its real operation id (CLAIM_SYNTHETIC takes it).
# Its row: (id, None...) when inserted; else, in the same round trip, (None, *what
# PAYMENT_FIELDS_DIFFERING compares) for the payment this statement's snapshot holds under the
# operation id; no row when it holds none (then PAYMENT_FIELDS_DIFFERING is asked apart).
INSERT_PAYMENT = """
    WITH inserted AS (
    INSERT INTO payment
        (operation_id, payer_inn, amount, document_number, document_date, document_day,
         source, operation_id_synthetic, status, credited_at)
    SELECT %(operation_id)s::uuid, %(payer_inn)s::text, %(amount)s::bigint,
           %(document_number)s::text, %(document_date)s::timestamptz, %(document_day)s::date,
           %(source)s::text, %(synthetic)s::boolean, %(status)s::text,
           CASE WHEN %(status)s::text = 'credited' THEN statement_timestamp() END
    WHERE NOT (%(claimable)s::boolean AND EXISTS (
        SELECT 1 FROM payment
        WHERE payer_inn = %(payer_inn)s::text AND document_number = %(document_number)s::text
          AND document_day = %(document_day)s::date AND amount = %(amount)s::bigint
          AND operation_id_synthetic
    ))
    ON CONFLICT (operation_id) DO NOTHING
    RETURNING id
    )
    SELECT id, NULL::boolean AS amount_differs, NULL::boolean, NULL::boolean, NULL::boolean
    FROM inserted
    UNION ALL
    SELECT NULL, amount <> %(amount)s::bigint, payer_inn <> %(payer_inn)s::text,
           document_number <> %(document_number)s::text,
           document_date <> %(document_date)s::timestamptz
    FROM payment
    WHERE operation_id = %(operation_id)s::uuid AND NOT EXISTS (SELECT FROM inserted)
"""

# A delivery with a new operation id whose identity a statement credited first: the statement's
# (oldest such) payment takes the delivery's operation id, so GET /api/operations/<id>/ finds it
# and its redeliveries are ordinary duplicates. The append-only trigger allows this change once.
CLAIM_SYNTHETIC = """
    UPDATE payment SET operation_id = %(operation_id)s, operation_id_synthetic = false
    WHERE id = (
        SELECT id FROM payment
        WHERE payer_inn = %(payer_inn)s AND document_number = %(document_number)s
          AND document_day = %(document_day)s AND amount = %(amount)s AND operation_id_synthetic
        ORDER BY id LIMIT 1
    )
    RETURNING id
"""

# DO NOTHING takes no row lock, so creating a missing organization costs the others nothing.
ENSURE_ORGANIZATION = """
    INSERT INTO organization (inn, name, balance) VALUES (%s, '', 0)
    ON CONFLICT (inn) DO NOTHING
    RETURNING id
"""

# The increment happens inside PostgreSQL: concurrent credits queue on the row lock and each adds
# to the committed value, so no update is lost. It runs last, so the row is held only until commit.
CREDIT_ORGANIZATION = """
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
PAYMENT_FIELDS_DIFFERING = """
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
            return await steps_run_async(payment_process_steps(data), cursor)


def payment_process(*, data: PaymentData) -> PaymentResult:
    """payment_process_async's transaction (same steps, same contract) on Django's
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
        return steps_run(payment_process_steps(data), cursor)


def payment_accept(*, data: PaymentData) -> PaymentResult:
    """Record a bank operation as pending and enqueue its credit, in one transaction.

    Returns ACCEPTED once the payment and its job are committed together (neither exists
    without the other). Duplicates and conflicts are decided at once, exactly as in
    payment_process_async, also while the first delivery is still pending.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        payment_id = steps_run(_payment_record_steps(data, status=Payment.Status.PENDING), cursor)
        if payment_id is None:
            return PaymentResult(PaymentOutcome.DUPLICATE)
        # The payment references its organization; create it now so the deferred FK holds.
        steps_run(_organization_ensure_steps(data), cursor)
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
        cursor.execute(_MARK_PAYMENT_CREDITED, [payment_id])
        row = cursor.fetchone()
        if row is None:
            logger.info("payment already credited payment_id=%s", payment_id)
            return False
        operation_id, payer_inn, amount = row
        with _overflow_refused(operation_id=operation_id, payer_inn=payer_inn):
            balance_after = steps_run(
                _organization_credit_steps(
                    payer_inn=payer_inn, amount=amount, payment_id=payment_id
                ),
                cursor,
            )
    _log_credited(
        operation_id=operation_id, payer_inn=payer_inn, amount=amount, balance_after=balance_after
    )
    return True


@dataclass(frozen=True)
class StatementEntry:
    """An incoming statement line, as the ledger sees it."""

    identity: PaymentIdentity
    operation_id: UUID | None  # None: matched and credited by the identity alone
    # Payments of this identity the statement's other lines already matched: each payment
    # confirms one line of a statement, never two.
    taken: frozenset[int] = frozenset()


@dataclass(frozen=True)
class EntrySettled:
    """What the ledger did with a StatementEntry."""

    # CREDITED: nothing matched, credited now. DUPLICATE: the ledger already had it (matched).
    # None: a conflict (the operation id is recorded with differing_fields), nothing credited.
    outcome: PaymentOutcome | None
    payment_id: int
    operation_id: UUID
    differing_fields: tuple[str, ...] = ()


_LOCK_OPERATIONS = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) k"
_LOCK_IDENTITIES = (
    "SELECT count(pg_advisory_xact_lock(h, l)) FROM unnest(%s::int[], %s::int[]) AS k(h, l)"
)
_PAYMENT_BY_OPERATION = "SELECT id FROM payment WHERE operation_id = %s"


def payment_statement_entries_settle(*, entries: Sequence[StatementEntry]) -> list[EntrySettled]:
    """Match each statement entry to the ledger or credit it, in one transaction, through the
    webhook's own steps, locks and guards (source=statement); one result per entry, in order.

    Exactly once across both channels: a payment a webhook recorded is matched, not credited,
    and a webhook after this credit is a duplicate (payment_process_steps' identity claim).
    An entry whose operation id is recorded with another amount or payer is a conflict.
    Safe to repeat: an entry already credited is matched the second time.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        steps_run(timeouts_steps(), cursor)
        # Every lock first, operations before identities, each sorted: the order every
        # transaction takes them in (a webhook holds one of each), so none waits in a cycle.
        operations = sorted(
            {advisory_key(entry.operation_id) for entry in entries if entry.operation_id}
        )
        identities = sorted({entry.identity.lock_key() for entry in entries})
        cursor.execute(_LOCK_OPERATIONS, [operations])
        cursor.execute(
            _LOCK_IDENTITIES, [[high for high, _ in identities], [low for _, low in identities]]
        )
        taken = {entry.identity: set(entry.taken) for entry in entries}
        settled: list[EntrySettled | None] = [None] * len(entries)
        # Entries with an operation id first, one by one as webhooks (they may claim or
        # conflict); the payments they hold are then taken for the identity entries.
        for n, entry in enumerate(entries):
            if entry.operation_id is not None:
                settled[n] = _operation_entry_settle(entry, cursor)
                taken[entry.identity].add(settled[n].payment_id)
        by_identity = [(n, e.identity) for n, e in enumerate(entries) if e.operation_id is None]
        if by_identity:
            identity_settled = _identity_entries_settle(
                [identity for _, identity in by_identity], taken, cursor
            )
            for (n, _), result in zip(by_identity, identity_settled, strict=True):
                settled[n] = result
    return settled


def _operation_entry_settle(entry: StatementEntry, cursor) -> EntrySettled:
    identity = entry.identity
    data = PaymentData(
        operation_id=entry.operation_id,
        amount=identity.amount,
        payer_inn=identity.payer_inn,
        document_number=identity.document_number,
        document_date=bank_day_start(identity.document_day),
    )
    try:
        with _overflow_refused(operation_id=data.operation_id, payer_inn=data.payer_inn):
            result = steps_run(
                payment_process_steps(data, source=Payment.Source.STATEMENT, locked=True), cursor
            )
        outcome, differing = result.outcome, ()
    except PaymentConflict as conflict:
        outcome, differing = None, tuple(conflict.details["differing_fields"])
    # By its operation id: after a claim the payment holds this entry's id.
    cursor.execute(_PAYMENT_BY_OPERATION, [data.operation_id])
    return EntrySettled(outcome, cursor.fetchone()[0], data.operation_id, differing)


# Every payment of each identity, oldest first (n: the identity's index in the arrays).
_IDENTITIES_PAYMENTS = """
    SELECT i.n, p.id, p.operation_id
    FROM unnest(%(inn)s::text[], %(number)s::text[], %(day)s::date[], %(amount)s::bigint[])
         WITH ORDINALITY AS i(payer_inn, document_number, document_day, amount, n)
    JOIN payment p
      ON p.payer_inn = i.payer_inn AND p.document_number = i.document_number
     AND p.document_day = i.document_day AND p.amount = i.amount
    ORDER BY i.n, p.id
"""

# A batch of statement payments, as INSERT_PAYMENT records one: credited now, source statement,
# the synthetic operation id (identity_operation_id) its webhook will replace.
_INSERT_STATEMENT_PAYMENTS = """
    INSERT INTO payment
        (operation_id, payer_inn, amount, document_number, document_date, document_day,
         source, operation_id_synthetic, status, credited_at)
    SELECT operation_id, payer_inn, amount, document_number, document_date, document_day,
           'statement', true, 'credited', statement_timestamp()
    FROM unnest(%(operation_id)s::uuid[], %(inn)s::text[], %(amount)s::bigint[],
                %(number)s::text[], %(date)s::timestamptz[], %(day)s::date[])
         WITH ORDINALITY AS n(operation_id, payer_inn, amount, document_number, document_date,
                              document_day, position)
    ORDER BY position
    ON CONFLICT (operation_id) DO NOTHING
    RETURNING id, operation_id
"""

_ENSURE_ORGANIZATIONS = """
    INSERT INTO organization (inn, name, balance)
    SELECT inn, '', 0 FROM unnest(%s::text[]) AS i(inn) ORDER BY inn
    ON CONFLICT (inn) DO NOTHING
"""


def _identity_entries_settle(
    identities: list[PaymentIdentity], taken: dict[PaymentIdentity, set[int]], cursor
) -> list[EntrySettled]:
    """Entries without an operation id (their identity locks held): the k-th entry of an
    identity matches its oldest payment not taken yet, or, when none is left, is credited as a
    new statement payment; in a few statements for the whole batch, each credit still its own
    balance update and log row (the ledger's chain)."""
    unique = list(dict.fromkeys(identities))
    cursor.execute(_IDENTITIES_PAYMENTS, _identity_arrays(unique))
    existing: dict[PaymentIdentity, list[tuple[int, UUID]]] = {i: [] for i in unique}
    for n, payment_id, operation_id in cursor.fetchall():
        existing[unique[n - 1]].append((payment_id, operation_id))
    counts = {identity: len(payments) for identity, payments in existing.items()}
    untaken = {
        identity: [p for p in payments if p[0] not in taken[identity]]
        for identity, payments in existing.items()
    }
    settled: list[EntrySettled | None] = []
    created: list[tuple[int, PaymentIdentity, UUID]] = []
    for n, identity in enumerate(identities):
        if untaken[identity]:
            payment_id, operation_id = untaken[identity].pop(0)
            settled.append(EntrySettled(PaymentOutcome.DUPLICATE, payment_id, operation_id))
            continue
        counts[identity] += 1
        created.append((n, identity, identity_operation_id(identity, ordinal=counts[identity])))
        settled.append(None)
    if created:
        for n, payment_id, operation_id in _statement_payments_credit(created, cursor):
            settled[n] = EntrySettled(PaymentOutcome.CREDITED, payment_id, operation_id)
    return settled


def _statement_payments_credit(created, cursor) -> list[tuple[int, int, UUID]]:
    """Insert and credit new statement payments: (entry index, payment id, operation id)."""
    identities = [identity for _, identity, _ in created]
    cursor.execute(
        _INSERT_STATEMENT_PAYMENTS,
        {
            **_identity_arrays(identities),
            "operation_id": [operation_id for _, _, operation_id in created],
            "date": [bank_day_start(identity.document_day) for identity in identities],
        },
    )
    inserted = dict((operation_id, payment_id) for payment_id, operation_id in cursor.fetchall())
    if len(inserted) != len(created):  # the ordinals are past every id given: a uuid5 collision
        raise RuntimeError("a statement payment's operation id exists already")
    cursor.execute(_ENSURE_ORGANIZATIONS, [sorted({i.payer_inn for i in identities})])
    credits = sorted(
        (identity.payer_inn, inserted[operation_id], identity.amount)
        for _, identity, operation_id in created
    )
    # One balance update and log row per payment, as a webhook's credit (the ledger's guards
    # chain them); pipelined in one round trip, in INN order, so two batches never take two
    # organizations' rows in opposite orders.
    with _overflow_refused(operation_id=created[0][2], payer_inn=credits[0][0]):
        cursor.executemany(
            CREDIT_ORGANIZATION,
            [{"amount": amount, "inn": inn, "payment_id": pid} for inn, pid, amount in credits],
        )
    return [(n, inserted[operation_id], operation_id) for n, _, operation_id in created]


def _identity_arrays(identities: list[PaymentIdentity]) -> dict[str, list]:
    return {
        "inn": [identity.payer_inn for identity in identities],
        "number": [identity.document_number for identity in identities],
        "day": [identity.document_day for identity in identities],
        "amount": [identity.amount for identity in identities],
    }


def payment_credit_defer(payment_id: int) -> None:
    """Enqueue payments.tasks.payment_credit_job, by name (that module imports this one)."""
    jobs.configure_task(CREDIT_TASK, allow_unknown=False).defer(payment_id=payment_id)


# --- The transactions' steps, written once for both drivers (payments.services.sql_steps) ---------


def payment_process_steps(
    data: PaymentData, *, source: str = Payment.Source.WEBHOOK, locked: bool = False
) -> Steps[PaymentResult]:
    """Record and credit: the whole sync-mode transaction (payment_process); a statement line
    with an operation id runs it too (source, and locked when its batch holds the locks)."""
    payment_id = yield from _payment_record_steps(
        data, status=Payment.Status.CREDITED, source=source, locked=locked
    )
    if payment_id is None:
        return PaymentResult(PaymentOutcome.DUPLICATE)
    yield from _organization_ensure_steps(data)
    # Last, right before commit: the organization's row is locked only from here.
    balance_after = yield from _organization_credit_steps(
        payer_inn=data.payer_inn, amount=data.amount, payment_id=payment_id
    )
    return PaymentResult(PaymentOutcome.CREDITED, balance_after)


def _payment_record_steps(
    data: PaymentData,
    *,
    status: str,
    source: str = Payment.Source.WEBHOOK,
    locked: bool = False,
    synthetic: bool = False,
) -> Steps[int | None]:
    """Insert the payment under the operation's and the identity's locks; None (after
    checking) if it exists, or if a statement payment of its identity took its operation id."""
    identity = data.identity
    if not locked:
        # First in its transaction (payment_process, payment_process_async, payment_accept).
        yield from timeouts_steps()
        # Deliveries of one operation run one after another; different operations wait only
        # when they share a business identity.
        yield LOCK_OPERATION, lock_params(data.operation_id, identity)
    fields = {
        "operation_id": data.operation_id,
        "payer_inn": data.payer_inn,
        "amount": data.amount,
        "document_number": data.document_number,
        "document_date": data.document_date,
    }
    inserted = yield (
        INSERT_PAYMENT,
        {
            **fields,
            "document_day": identity.document_day,
            "source": source,
            "synthetic": synthetic,
            "claimable": not synthetic,
            "status": status,
        },
    )
    if inserted is not None and inserted[0] is not None:
        return inserted[0]
    if inserted is not None:
        differing = inserted[1:]
    else:  # a payment inserted since the statement's snapshot, or one to claim
        differing = yield PAYMENT_FIELDS_DIFFERING, fields
    if differing is None:
        claimed = yield CLAIM_SYNTHETIC, {**fields, "document_day": identity.document_day}
        if claimed is None:  # impossible under the identity lock: INSERT saw the payment
            raise RuntimeError(f"payment of {data.operation_id} neither inserted nor claimed")
        logger.info(
            "payment duplicate of a statement credit operation_id=%s payment_id=%s",
            data.operation_id,
            claimed[0],
        )
        return None
    _payment_check_same(data, differing)
    logger.debug("payment duplicate operation_id=%s", data.operation_id)
    return None


def lock_params(operation_id: UUID, identity: PaymentIdentity) -> dict[str, int]:
    high, low = identity.lock_key()
    return {
        "operation_key": advisory_key(operation_id),
        "identity_high": high,
        "identity_low": low,
    }


def _organization_ensure_steps(data: PaymentData) -> Steps[None]:
    created = yield ENSURE_ORGANIZATION, [data.payer_inn]
    if created is not None:
        logger.warning(
            "organization created by its first payment payer_inn=%s operation_id=%s",
            data.payer_inn,
            data.operation_id,
        )


def _organization_credit_steps(*, payer_inn: str, amount: int, payment_id: int) -> Steps[int]:
    """Add amount to the balance and log it; return the new balance."""
    credited = yield (
        CREDIT_ORGANIZATION,
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
    (differs: PAYMENT_FIELDS_DIFFERING's row)."""
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
