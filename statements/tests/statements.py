"""ParsedStatement objects built by hand, as a parser would produce them (no file involved)."""

import datetime
import hashlib
import itertools
import uuid
from zoneinfo import ZoneInfo

from statements.types import Direction, ParsedStatement, StatementFormat, StatementLine

ACCOUNT = "40702810900000000001"
MOSCOW = ZoneInfo("Europe/Moscow")
_files = itertools.count(1)


def line(
    *,
    amount: int = 145000,
    payer_inn: str | None = "7707083893",
    document_number: str | None = "PAY-328",
    document_date: datetime.date | None = datetime.date(2024, 4, 28),
    operation_id: uuid.UUID | None = None,
    direction: Direction = Direction.INCOMING,
) -> dict:
    return {
        "amount": amount,
        "payer_inn": payer_inn,
        "document_number": document_number,
        "document_date": document_date,
        "operation_id": operation_id,
        "direction": direction,
    }


def statement(
    *lines: dict,
    period: tuple[datetime.date, datetime.date] = (
        datetime.date(2024, 4, 28),
        datetime.date(2024, 4, 28),
    ),
    created_at: datetime.datetime | None = None,
    sha256: str | None = None,
) -> ParsedStatement:
    """A 1C-like statement of these lines (camt-like when a line has an operation id)."""
    built = tuple(
        StatementLine(
            position=position,
            where=f"line {position * 10}",
            currency="RUB",
            account=ACCOUNT,
            booking_date=spec["document_date"],
            **spec,
        )
        for position, spec in enumerate(lines, 1)
    )
    incoming = sum(x.amount for x in built if x.direction is Direction.INCOMING)
    outgoing = sum(x.amount for x in built if x.direction is Direction.OUTGOING)
    return ParsedStatement(
        format=StatementFormat.ONE_C,
        version="1.03",
        accounts=(ACCOUNT,),
        period_start=period[0],
        period_end=period[1],
        created_at=created_at
        or datetime.datetime.combine(
            period[1] + datetime.timedelta(days=1), datetime.time(6), tzinfo=MOSCOW
        ),
        opening_balance=0,
        closing_balance=incoming - outgoing,
        total_incoming=incoming,
        total_outgoing=outgoing,
        lines=built,
        sha256=sha256 or hashlib.sha256(f"file {next(_files)}".encode()).hexdigest(),
    )
