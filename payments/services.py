"""Writes. Every change to money happens here, inside one database transaction per call."""

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import psycopg.errors
from django.db import DataError, connection, transaction

from payments.errors import BalanceOverflow, PaymentConflict
from payments.models import Organization, Payment

logger = logging.getLogger(__name__)


class PaymentOutcome(enum.Enum):
    CREDITED = "credited"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class PaymentResult:
    outcome: PaymentOutcome
    # The organization's balance right after this credit; None for a duplicate (nothing moved).
    balance_after: int | None = None


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

_INSERT_PAYMENT = """
    INSERT INTO payment
        (operation_id, payer_inn, amount, document_number, document_date, status, credited_at)
    VALUES (%s, %s, %s, %s, %s, 'credited', now())
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


def payment_process(
    *,
    operation_id: UUID,
    amount: int,
    payer_inn: str,
    document_number: str,
    document_date: datetime,
) -> PaymentResult:
    """Record a bank operation and credit the payer's organization, exactly once.

    Returns the outcome and, when credited, the balance right after the credit. Idempotent on
    operation_id, including under concurrent deliveries: a repeat with the same content changes
    nothing and returns DUPLICATE. A repeat with different content raises PaymentConflict and
    changes nothing. An unknown payer_inn gets its organization created, so
    money that arrived is never refused. Raises BalanceOverflow (nothing recorded) if the credit
    would overflow the balance column.
    """
    data = PaymentData(operation_id, amount, payer_inn, document_number, document_date)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Deliveries of one operation run one after another; different operations never wait.
            cursor.execute(_LOCK_OPERATION, [advisory_key(operation_id)])
            cursor.execute(
                _INSERT_PAYMENT,
                [operation_id, payer_inn, amount, document_number, document_date],
            )
            inserted = cursor.fetchone()
            if inserted is None:
                _payment_check_same(data)
                logger.debug("payment duplicate operation_id=%s", operation_id)
                return PaymentResult(PaymentOutcome.DUPLICATE)
            balance_after = _organization_credit(cursor, data, payment_id=inserted[0])
    except DataError as exc:
        if isinstance(exc.__cause__, psycopg.errors.NumericValueOutOfRange):
            logger.error("payment refused, balance overflow operation_id=%s", operation_id)
            raise BalanceOverflow(
                "Crediting this amount would overflow the organization's balance.",
                details={"payer_inn": payer_inn},
            ) from exc
        raise
    logger.debug(
        "payment credited operation_id=%s payer_inn=%s amount=%s balance_after=%s",
        operation_id,
        payer_inn,
        amount,
        balance_after,
    )
    return PaymentResult(PaymentOutcome.CREDITED, balance_after)


def _organization_credit(cursor, data: PaymentData, *, payment_id: int) -> int:
    cursor.execute(_ENSURE_ORGANIZATION, [data.payer_inn])
    if cursor.fetchone() is not None:
        logger.warning(
            "organization created by its first payment payer_inn=%s operation_id=%s",
            data.payer_inn,
            data.operation_id,
        )
    cursor.execute(
        _CREDIT_ORGANIZATION,
        {"amount": data.amount, "inn": data.payer_inn, "payment_id": payment_id},
    )
    return cursor.fetchone()[0]


def _payment_check_same(data: PaymentData) -> None:
    """Raise PaymentConflict if the stored payment differs from this delivery in any field."""
    stored = Payment.objects.get(operation_id=data.operation_id)
    differing = [
        field
        for field, stored_value in (
            ("amount", stored.amount),
            ("payer_inn", stored.organization_id),
            ("document_number", stored.document_number),
            ("document_date", stored.document_date),
        )
        if getattr(data, field) != stored_value
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
