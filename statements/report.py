"""What an import tells its caller: the statement, each line's fate, and what the bank never made.

The API, `statement_import --json` and the admin all render StatementReport.as_dict(), so the
JSON shape is defined once, here. Money is in minor units; dates are ISO 8601 strings.
"""

import dataclasses
import datetime
import uuid
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class StatementSummary:
    id: int
    accounts: tuple[str, ...]
    period_start: datetime.date
    period_end: datetime.date
    format: str
    version: str
    created_at: datetime.datetime | None
    imported_at: datetime.datetime
    lines_total: int
    lines_incoming: int
    lines_outgoing: int


@dataclasses.dataclass(frozen=True, slots=True)
class LineMatched:
    """An incoming line the ledger already had (a webhook, or an earlier statement, credited it)."""

    position: int
    where: str
    operation_id: uuid.UUID
    payer_inn: str
    amount: int


@dataclasses.dataclass(frozen=True, slots=True)
class LineCredited:
    """An incoming line nothing matched: a missed webhook, credited by this import."""

    position: int
    where: str
    operation_id: uuid.UUID  # the payment's (a uuid5 of the identity when the line had none)
    payer_inn: str
    amount: int
    document_number: str
    document_date: datetime.date


@dataclasses.dataclass(frozen=True, slots=True)
class LineConflict:
    """An incoming line whose operation id names a payment that differs, or that names too little
    to be credited: never credited, for an operator to look at."""

    position: int
    where: str
    operation_id: uuid.UUID | None  # None: a line naming no operation and no identity
    # "amount", "payer_inn"; or "unidentified": neither an operation id nor a whole identity
    differing_fields: tuple[str, ...]
    line_amount: int
    line_payer_inn: str | None
    payment_operation_id: uuid.UUID | None
    payment_amount: int | None
    payment_payer_inn: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class CreditUnconfirmed:
    """A credit in the ledger that a statement covering its day should list and does not."""

    operation_id: uuid.UUID
    payer_inn: str
    amount: int
    document_number: str
    document_date: datetime.datetime
    credited_at: datetime.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class StatementReport:
    statement: StatementSummary
    matched: tuple[LineMatched, ...]
    credited: tuple[LineCredited, ...]
    conflicts: tuple[LineConflict, ...]
    # Every unconfirmed credit in the ledger at the time of the report (not only this file's).
    unconfirmed: tuple[CreditUnconfirmed, ...]
    already_imported: bool

    @property
    def ok(self) -> bool:
        """No discrepancy for an operator (the command exits 0, else 1)."""
        return not self.conflicts and not self.unconfirmed

    def as_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.date):  # datetime too
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
