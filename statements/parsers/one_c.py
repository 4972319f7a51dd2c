"""The 1C client-bank exchange format (`1CClientBankExchange`, versions 1.02 and 1.03).

A text file of `Key=Value` lines: a header, one `СекцияРасчСчет` per account (and period), then
one `СекцияДокумент` per payment document, then `КонецФайла`. The mapping and the refusals are in
docs/statements.md#formats.
"""

import dataclasses
import datetime
import hashlib
import io
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from statements.errors import StatementInvalid
from statements.parsers.values import amount_parse, date_parse
from statements.types import Direction, ParsedStatement, StatementFormat, StatementLine

SIGNATURE = "1CClientBankExchange"
VERSIONS = ("1.02", "1.03")
ENCODINGS = {"Windows": "cp1251", "DOS": "cp866"}
_ENCODING_KEY = "Кодировка="
_DATE = "%d.%m.%Y"
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2})?")
MOSCOW = ZoneInfo("Europe/Moscow")


@dataclasses.dataclass
class _Block:
    """A section or document being read: its keys with the line each came from."""

    line_no: int
    repeatable: frozenset[str] = frozenset()  # the header lists each of its accounts
    values: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        return value[0] if value else None

    def where(self, key: str) -> str:
        value = self.values.get(key)
        return f"line {value[1] if value else self.line_no}"

    def add(self, key: str, value: str, line_no: int) -> None:
        if key not in _READ_KEYS:
            return  # the format has dozens of keys (purpose, bank details) the import never uses
        if key in self.values and key not in self.repeatable:
            first = self.values[key][1]
            message = f"{key} repeats (first on line {first})"
            raise StatementInvalid(message, where=f"line {line_no}")
        self.values.setdefault(key, (value, line_no))


# The keys this parser reads: each may appear once per block, so no value is silently dropped.
_READ_KEYS = frozenset(
    {
        *("ВерсияФормата", "ДатаСоздания", "ВремяСоздания", "ДатаНачала", "ДатаКонца"),
        *("РасчСчет", "НачальныйОстаток", "ВсегоПоступило", "ВсегоСписано", "КонечныйОстаток"),
        *("Номер", "Дата", "Сумма", "ПлательщикИНН", "ДатаПоступило", "ДатаСписано"),
        *("ПлательщикСчет", "ПлательщикРасчСчет", "ПолучательСчет", "ПолучательРасчСчет"),
    }
)


@dataclasses.dataclass(slots=True)
class _Document:
    """A document's values, read and checked as soon as it closes (its block is dropped)."""

    line_no: int
    payer_accounts: tuple[str | None, str | None]
    receiver_accounts: tuple[str | None, str | None]
    amount: int
    number: str | None
    date: datetime.date | None
    payer_inn: str | None
    incoming_date: datetime.date | None
    outgoing_date: datetime.date | None


@dataclasses.dataclass
class _Section:
    line_no: int
    account: str
    start: datetime.date
    end: datetime.date
    opening: int
    incoming: int
    outgoing: int
    closing: int
    incoming_where: str
    outgoing_where: str


def one_c_statement_parse(*, data: bytes, tz: ZoneInfo = MOSCOW) -> ParsedStatement:
    """Parse a 1CClientBankExchange file whose totals agree with its documents.

    Raises StatementInvalid naming the line ("line N") for anything unreadable, unsupported or
    inconsistent, a file without `КонецФайла` included. created_at is read in `tz`.
    """
    reader = _Reader()
    for line_no, line in _lines(data, _encoding_detect(data)):
        reader.feed(line_no, line)
    reader.finish()
    return _statement_build(data, reader.header, reader.sections, reader.documents, tz)


_SECTION, _DOCUMENT = "СекцияРасчСчет", "СекцияДокумент"
_ENDS = {_SECTION: "КонецРасчСчет", _DOCUMENT: "КонецДокумента"}


class _Reader:
    """The file's structure, one line at a time: header, sections, documents, КонецФайла."""

    def __init__(self) -> None:
        self.header = _Block(line_no=1, repeatable=frozenset({"РасчСчет"}))
        self.sections: list[_Section] = []
        self.documents: list[_Document] = []
        self.shared: dict[str, str] = {}  # one string per distinct account (100,000 documents)
        self.block: _Block | None = None
        self.kind = ""
        self.finished_on = 0
        self.last_line = 0

    def feed(self, line_no: int, line: str) -> None:
        self.last_line = line_no
        if self.finished_on:
            if line.strip():
                raise StatementInvalid("text after КонецФайла", where=f"line {line_no}")
        elif line_no == 1:
            if line != SIGNATURE:
                message = f"the file does not start with {SIGNATURE}"
                raise StatementInvalid(message, where=f"line {line_no}")
        elif not line.strip():
            pass
        elif line == _SECTION or line.startswith(f"{_DOCUMENT}="):
            self._outside_blocks(line.split("=")[0], line_no)
            self.block = _Block(line_no=line_no)
            self.kind = _SECTION if line == _SECTION else _DOCUMENT
        elif line in _ENDS.values():
            self._close(line, line_no)
        elif line == "КонецФайла":
            self._outside_blocks(line, line_no)
            self.finished_on = line_no
        else:
            key, sep, value = line.partition("=")
            if not sep:
                raise StatementInvalid(f"{line[:40]!r} is not Key=Value", where=f"line {line_no}")
            (self.block or self.header).add(key, value, line_no)

    def finish(self) -> None:
        if not self.finished_on:
            raise StatementInvalid(
                "the file ends without КонецФайла: it is truncated",
                where=f"line {self.last_line + 1}",
            )

    def _outside_blocks(self, marker: str, line_no: int) -> None:
        if self.block is not None:
            opened = self.block.line_no
            message = f"{marker} inside the {self.kind} opened on line {opened}"
            raise StatementInvalid(message, where=f"line {line_no}")

    def _close(self, marker: str, line_no: int) -> None:
        if self.block is None or marker != _ENDS[self.kind]:
            raise StatementInvalid(f"{marker} without its section", where=f"line {line_no}")
        if self.kind == _SECTION:
            self.sections.append(_section_read(self.block))
        else:
            self.documents.append(_document_read(self.block, self.shared))
        self.block = None


def _encoding_detect(data: bytes) -> str:
    """The codec named by the header's Кодировка line (its key is itself in that codec)."""
    head = data[:4096]
    for name, codec in ENCODINGS.items():
        key = _ENCODING_KEY.encode(codec)
        found = head.find(key)
        if found == -1:
            continue
        value = head[found + len(key) :].split(b"\n", 1)[0].strip().decode("ascii", "replace")
        line_no = head[:found].count(b"\n") + 1
        if value != name:
            raise StatementInvalid(
                f"Кодировка={value} is not supported, or does not match the file's own encoding"
                f" ({name}); supported: {', '.join(ENCODINGS)}",
                where=f"line {line_no}",
            )
        return codec
    if _ENCODING_KEY.encode("utf-8") in head:
        message = "the file is UTF-8 text; the format allows Кодировка=Windows or DOS only"
    else:
        message = "no Кодировка=Windows or Кодировка=DOS line in the header"
    raise StatementInvalid(message, where="line 2")


def _lines(data: bytes, encoding: str) -> Iterator[tuple[int, str]]:
    """Numbered lines, decoded one by one (the file is never copied whole as text).

    Both codecs are single-byte, so a line ends at the byte 0x0A whatever its text.
    """
    for line_no, raw in enumerate(io.BytesIO(data), start=1):
        try:
            yield line_no, raw.decode(encoding).rstrip("\r\n")
        except UnicodeDecodeError:
            raise StatementInvalid(
                f"not {encoding} text, as Кодировка declares", where=f"line {line_no}"
            ) from None


def _section_read(block: _Block) -> _Section:
    def amount(key: str, *, signed: bool = False, zero: bool = False) -> int:
        return amount_parse(block.get(key), where=block.where(key), signed=signed, zero=zero)

    def date(key: str) -> datetime.date:
        return date_parse(block.get(key), where=block.where(key), layout=_DATE)

    account = block.get("РасчСчет")
    if not account:
        raise StatementInvalid("СекцияРасчСчет without РасчСчет", where=f"line {block.line_no}")
    section = _Section(
        line_no=block.line_no,
        account=account,
        start=date("ДатаНачала"),
        end=date("ДатаКонца"),
        opening=amount("НачальныйОстаток", signed=True),
        incoming=amount("ВсегоПоступило", zero=True),
        outgoing=amount("ВсегоСписано", zero=True),
        closing=amount("КонечныйОстаток", signed=True),
        incoming_where=block.where("ВсегоПоступило"),
        outgoing_where=block.where("ВсегоСписано"),
    )
    if section.opening + section.incoming - section.outgoing != section.closing:
        raise StatementInvalid(
            "НачальныйОстаток + ВсегоПоступило - ВсегоСписано is not КонечныйОстаток",
            where=block.where("КонечныйОстаток"),
        )
    return section


def _document_read(block: _Block, shared: dict[str, str]) -> _Document:
    def account(key: str) -> str | None:
        value = block.get(key)
        return shared.setdefault(value, value) if value else None

    return _Document(
        line_no=block.line_no,
        payer_accounts=(account("ПлательщикСчет"), account("ПлательщикРасчСчет")),
        receiver_accounts=(account("ПолучательСчет"), account("ПолучательРасчСчет")),
        amount=amount_parse(block.get("Сумма"), where=block.where("Сумма")),
        number=block.get("Номер") or None,
        date=_optional_date(block, "Дата"),
        payer_inn=block.get("ПлательщикИНН") or None,
        incoming_date=_optional_date(block, "ДатаПоступило"),
        outgoing_date=_optional_date(block, "ДатаСписано"),
    )


def _statement_build(
    data: bytes, header: _Block, sections: list[_Section], documents: list[_Document], tz: ZoneInfo
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


def _document_lines(documents: list[_Document], accounts: set[str]) -> Iterator[StatementLine]:
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


def _optional_date(block: _Block, key: str) -> datetime.date | None:
    value = block.get(key)
    return date_parse(value, where=block.where(key), layout=_DATE) if value else None


def _totals_check(sections: list[_Section], lines: tuple[StatementLine, ...]) -> None:
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


def _first_and_last(sections: list[_Section], account: str) -> tuple[_Section, _Section]:
    own = sorted((s for s in sections if s.account == account), key=lambda s: (s.start, s.line_no))
    return own[0], own[-1]


def _header_date(header: _Block, key: str) -> datetime.date | None:
    return _optional_date(header, key)


def _created_at(header: _Block, tz: ZoneInfo) -> datetime.datetime | None:
    """ДатаСоздания and ВремяСоздания in the bank's zone; without a time, the day's start."""
    created_on = _optional_date(header, "ДатаСоздания")
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
