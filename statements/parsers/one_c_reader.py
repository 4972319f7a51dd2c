"""Reading a 1C exchange file: its encoding, its lines, and its blocks with their keys.

What the values mean for the statement (totals, directions, dates) is in one_c.py.
"""

import dataclasses
import datetime
import io
from collections.abc import Iterator

from statements.errors import StatementInvalid
from statements.parsers.values import amount_parse, date_parse

SIGNATURE = "1CClientBankExchange"
ENCODINGS = {"Windows": "cp1251", "DOS": "cp866"}
_ENCODING_KEY = "Кодировка="
DATE_LAYOUT = "%d.%m.%Y"


@dataclasses.dataclass
class Block:
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
class Document:
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
class Section:
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


_SECTION, _DOCUMENT = "СекцияРасчСчет", "СекцияДокумент"
_ENDS = {_SECTION: "КонецРасчСчет", _DOCUMENT: "КонецДокумента"}


class Reader:
    """The file's structure, one line at a time: header, sections, documents, КонецФайла."""

    def __init__(self) -> None:
        self.header = Block(line_no=1, repeatable=frozenset({"РасчСчет"}))
        self.sections: list[Section] = []
        self.documents: list[Document] = []
        self.shared: dict[str, str] = {}  # one string per distinct account (100,000 documents)
        self.block: Block | None = None
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
            self.block = Block(line_no=line_no)
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


def encoding_detect(data: bytes) -> str:
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


def lines_decode(data: bytes, encoding: str) -> Iterator[tuple[int, str]]:
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


def _section_read(block: Block) -> Section:
    def amount(key: str, *, signed: bool = False, zero: bool = False) -> int:
        return amount_parse(block.get(key), where=block.where(key), signed=signed, zero=zero)

    def date(key: str) -> datetime.date:
        return date_parse(block.get(key), where=block.where(key), layout=DATE_LAYOUT)

    account = block.get("РасчСчет")
    if not account:
        raise StatementInvalid("СекцияРасчСчет without РасчСчет", where=f"line {block.line_no}")
    section = Section(
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


def _document_read(block: Block, shared: dict[str, str]) -> Document:
    def account(key: str) -> str | None:
        value = block.get(key)
        return shared.setdefault(value, value) if value else None

    return Document(
        line_no=block.line_no,
        payer_accounts=(account("ПлательщикСчет"), account("ПлательщикРасчСчет")),
        receiver_accounts=(account("ПолучательСчет"), account("ПолучательРасчСчет")),
        amount=amount_parse(block.get("Сумма"), where=block.where("Сумма")),
        number=block.get("Номер") or None,
        date=date_optional(block, "Дата"),
        payer_inn=block.get("ПлательщикИНН") or None,
        incoming_date=date_optional(block, "ДатаПоступило"),
        outgoing_date=date_optional(block, "ДатаСписано"),
    )


def date_optional(block: Block, key: str) -> datetime.date | None:
    value = block.get(key)
    return date_parse(value, where=block.where(key), layout=DATE_LAYOUT) if value else None
