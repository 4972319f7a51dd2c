"""A payment's identities: its operation id, and the business identity a statement names it by.

Both are locked on (pg_advisory_xact_lock) by every transaction that records a payment, so a
webhook and a statement line of one payment never record it twice (docs/decisions/0150).
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from django.conf import settings


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


def advisory_key(operation_id: UUID) -> int:
    """A signed 64-bit key for pg_advisory_xact_lock, taken from the UUID's first 8 bytes.

    UUIDs are random, so collisions are rare; a collision only makes two unrelated operations
    wait for each other, it never merges them (the unique index decides identity).
    """
    return int.from_bytes(operation_id.bytes[:8], "big", signed=True)


def lock_params(operation_id: UUID, identity: PaymentIdentity) -> dict[str, int]:
    high, low = identity.lock_key()
    return {
        "operation_key": advisory_key(operation_id),
        "identity_high": high,
        "identity_low": low,
    }
