"""The statement channel: a bank statement's lines recorded and credited through the webhook's
own steps, locks and guards, in batches (statements.services drives it)."""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.db import connection, transaction

from payments.errors import PaymentConflict
from payments.models import Payment
from payments.outcomes import PaymentOutcome
from payments.services.crediting import (
    PaymentData,
    balance_overflow_refused,
    payment_process_steps,
)
from payments.services.identity import (
    PaymentIdentity,
    advisory_key,
    bank_day_start,
    identity_operation_id,
)
from payments.services.ledger_sql import CREDIT_ORGANIZATION
from payments.services.sql_steps import steps_run, timeouts_steps


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
        with balance_overflow_refused(operation_id=data.operation_id, payer_inn=data.payer_inn):
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
    with balance_overflow_refused(operation_id=created[0][2], payer_inn=credits[0][0]):
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
