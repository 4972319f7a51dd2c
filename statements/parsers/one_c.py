"""The 1C client-bank exchange format (`1CClientBankExchange`, versions 1.02 and 1.03).

A text file of `Key=Value` lines: a header, one `СекцияРасчСчет` per account (and period), then
one `СекцияДокумент` per payment document, then `КонецФайла`. The file's lines and blocks are read
in one_c_reader.py; here they become the statement. The mapping and the refusals are in
docs/statements.md#formats.
"""

import datetime
import hashlib
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from statements.errors import StatementInvalid
from statements.parsers.one_c_reader import (
    Block,
    Document,
    Reader,
    Section,
    date_optional,
    encoding_detect,
    lines_decode,
)
from statements.parsers.values import MOSCOW
from statements.types import Direction, ParsedStatement, StatementFormat, StatementLine

VERSIONS = ("1.02", "1.03")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2})?")


def one_c_statement_parse(*, data: bytes, tz: ZoneInfo = MOSCOW) -> ParsedStatement:
    """Parse a 1CClientBankExchange file whose totals agree with its documents.

    Raises StatementInvalid naming the line ("line N") for anything unreadable, unsupported or
    inconsistent, a file without `КонецФайла` included. created_at is read in `tz`.
    """
    reader = Reader()
    for line_no, line in lines_decode(data, encoding_detect(data)):
        reader.feed(line_no, line)
    reader.finish()
    return _statement_build(data, reader.header, reader.sections, reader.documents, tz)


def _statement_build(
    data: bytes, header: Block, sections: list[Section], documents: list[Document], tz: ZoneInfo
) -> ParsedStatement:
    version = header.get("ВерсияФормата")
    if version is None:
        raise StatementInvalid("no ВерсияФормата line in the header", where="line 2")
    if version not in VERSIONS:
        raise StatementInvalid(
            f"ВерсияФормата={version} is not supported (supported: {', '.join(VERSIONS)})",
            where=header.where("ВерсияФормата"),
        )
    if not sections:
        raise StatementInvalid("no СекцияРасчСчет: the statement names no account", where="line 1")
    accounts = tuple(dict.fromkeys(section.account for section in sections))
    lines = tuple(_document_lines(documents, set(accounts)))
    _totals_check(sections, lines)
    start = _header_date(header, "ДатаНачала") or min(section.start for section in sections)
    end = _header_date(header, "ДатаКонца") or max(section.end for section in sections)
    if start > end:
        raise StatementInvalid("ДатаНачала is after ДатаКонца", where=header.where("ДатаКонца"))
    return ParsedStatement(
        format=StatementFormat.ONE_C,
        version=version,
        accounts=accounts,
        period_start=start,
        period_end=end,
        created_at=_created_at(header, tz),
        opening_balance=sum(_first_and_last(sections, account)[0].opening for account in accounts),
        closing_balance=sum(_first_and_last(sections, account)[1].closing for account in accounts),
        total_incoming=sum(line.amount for line in lines if line.direction is Direction.INCOMING),
        total_outgoing=sum(line.amount for line in lines if line.direction is Direction.OUTGOING),
        lines=lines,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _document_lines(documents: list[Document], accounts: set[str]) -> Iterator[StatementLine]:
    """One line per document; a transfer between two of the statement's accounts gives two."""
    position = 0
    for document in documents:
        payer = _account_of(document.payer_accounts, accounts)
        receiver = _account_of(document.receiver_accounts, accounts)
        if payer is None and receiver is None:
            raise StatementInvalid(
                "neither the payer's nor the receiver's account is an account of the statement",
                where=f"line {document.line_no}",
            )
        for direction, account, booked_on in (
            (Direction.OUTGOING, payer, document.outgoing_date),
            (Direction.INCOMING, receiver, document.incoming_date),
        ):
            if account is None:
                continue
            position += 1
            yield StatementLine(
                position=position,
                where=f"line {document.line_no}",
                direction=direction,
                amount=document.amount,
                currency="RUB",
                account=account,
                payer_inn=document.payer_inn,
                document_number=document.number,
                document_date=document.date,
                booking_date=booked_on,
                operation_id=None,
            )


def _account_of(candidates: tuple[str | None, str | None], accounts: set[str]) -> str | None:
    """The party's account when it is one of the statement's (`…Счет`, else `…РасчСчет`)."""
    for account in candidates:
        if account in accounts:
            return account
    return None


def _totals_check(sections: list[Section], lines: tuple[StatementLine, ...]) -> None:
    """Each account's ВсегоПоступило/ВсегоСписано (over its sections) equal its documents' sums."""
    for account in dict.fromkeys(section.account for section in sections):
        own = [section for section in sections if section.account == account]
        for direction, key, declared, where in (
            (
                Direction.INCOMING,
                "ВсегоПоступило",
                sum(s.incoming for s in own),
                own[0].incoming_where,
            ),
            (
                Direction.OUTGOING,
                "ВсегоСписано",
                sum(s.outgoing for s in own),
                own[0].outgoing_where,
            ),
        ):
            actual = sum(
                line.amount
                for line in lines
                if line.account == account and line.direction is direction
            )
            if actual != declared:
                raise StatementInvalid(
                    f"{key} of account {account} is {_roubles(declared)}, but its documents"
                    f" sum to {_roubles(actual)}",
                    where=where,
                )


def _first_and_last(sections: list[Section], account: str) -> tuple[Section, Section]:
    own = sorted((s for s in sections if s.account == account), key=lambda s: (s.start, s.line_no))
    return own[0], own[-1]


def _header_date(header: Block, key: str) -> datetime.date | None:
    return date_optional(header, key)


def _created_at(header: Block, tz: ZoneInfo) -> datetime.datetime | None:
    """ДатаСоздания and ВремяСоздания in the bank's zone; without a time, the day's start."""
    created_on = date_optional(header, "ДатаСоздания")
    if created_on is None:
        return None
    time_text = header.get("ВремяСоздания") or "00:00:00"
    if not _TIME.fullmatch(time_text):
        raise StatementInvalid(
            f"{time_text!r} is not a time (hh:mm:ss)", where=header.where("ВремяСоздания")
        )
    try:
        time = datetime.time.fromisoformat(time_text)
    except ValueError:
        raise StatementInvalid(
            f"{time_text!r} is not a time (hh:mm:ss)", where=header.where("ВремяСоздания")
        ) from None
    return datetime.datetime.combine(created_on, time, tzinfo=tz)


def _roubles(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"
