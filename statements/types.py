"""What a parsed statement is, whatever its format: the parsers produce it, the import consumes it.

Money is in minor units (kopecks) as int; dates are the bank's calendar dates (no time zone).
"""

import dataclasses
import datetime
import enum
import uuid


class StatementFormat(str, enum.Enum):
    ONE_C = "1c"  # 1CClientBankExchange, versions 1.02 and 1.03
    CAMT053 = "camt053"  # ISO 20022 camt.053.001.02 and .08


class Direction(str, enum.Enum):
    INCOMING = "in"  # credited to the statement's account: a payment to match or credit
    OUTGOING = "out"  # debited: counted, never credited


@dataclasses.dataclass(frozen=True, slots=True)
class StatementLine:
    """One document (1C `СекцияДокумент`) or one credit/debit entry (camt.053 `Ntry`/`TxDtls`)."""

    position: int  # 1-based order in the file; the report and errors name it
    where: str  # how a person finds it in the file: "line 120" (1C) or "Ntry[5]" (camt.053)
    direction: Direction
    amount: int  # minor units, > 0
    currency: str  # ISO 4217 code ("RUB")
    account: str  # the statement's account this line belongs to
    payer_inn: str | None
    document_number: str | None  # exactly as written
    document_date: datetime.date | None
    booking_date: datetime.date | None
    operation_id: uuid.UUID | None  # camt.053 UETR (or a UUID AcctSvcrRef); 1C lines carry none


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedStatement:
    """A whole statement whose own totals agree with its lines (the parser checked them)."""

    format: StatementFormat
    version: str  # "1.03", "camt.053.001.08"
    accounts: tuple[str, ...]  # 1C may hold several account sections
    period_start: datetime.date
    period_end: datetime.date
    created_at: datetime.datetime | None  # when the bank produced it (aware, in the bank's zone)
    opening_balance: int
    closing_balance: int
    total_incoming: int
    total_outgoing: int
    lines: tuple[StatementLine, ...]
    sha256: str  # of the file's bytes: the same file imports once
