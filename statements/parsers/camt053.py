"""ISO 20022 bank-to-customer statements (`camt.053.001.02` and `camt.053.001.08`).

Read as a stream: each `Ntry` is turned into lines when it closes and then dropped from the tree,
so memory holds the lines, not the XML. Parsed by defusedxml with document type declarations
refused outright (docs/decisions/0140). The mapping and the refusals are in
docs/statements.md#formats.
"""

import dataclasses
import datetime
import hashlib
import io
import re
import uuid

# Only ParseError and the Element type; every parse goes through defusedxml.
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import defusedxml
import defusedxml.ElementTree

from statements.errors import StatementInvalid
from statements.parsers.one_c import MOSCOW
from statements.parsers.values import amount_parse, date_parse
from statements.types import Direction, ParsedStatement, StatementFormat, StatementLine

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
VERSIONS = ("camt.053.001.02", "camt.053.001.08")
CURRENCY = "RUB"
_DATE = "%Y-%m-%d"
_INN_SCHEMES = frozenset({"INN", "TXID"})
# UETR is this form (ISO 20022 UUIDv4Identifier); an AcctSvcrRef is an operation id only in it.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


@dataclasses.dataclass
class _Statement:
    """One `Stmt` being read: what its entries add up to, checked against it when it closes."""

    path: str  # "Stmt", then "Stmt[2]" for a second account's statement in the same file
    tz: ZoneInfo  # the bank's: a time with an offset is on the bank's calendar day there
    account: str = ""
    entries: int = 0
    credits: int = 0
    debits: int = 0
    credit_entries: int = 0
    debit_entries: int = 0


@dataclasses.dataclass
class _Result:
    accounts: list[str] = dataclasses.field(default_factory=list)
    starts: list[datetime.date] = dataclasses.field(default_factory=list)
    ends: list[datetime.date] = dataclasses.field(default_factory=list)
    opening: int = 0
    closing: int = 0
    lines: list[StatementLine] = dataclasses.field(default_factory=list)
    created_at: datetime.datetime | None = None


def camt053_statement_parse(*, data: bytes, tz: ZoneInfo = MOSCOW) -> ParsedStatement:
    """Parse a camt.053 document whose balances and summaries agree with its entries.

    Raises StatementInvalid naming the element ("Stmt/Ntry[5]/Amt") for anything unreadable,
    unsupported or inconsistent; a DOCTYPE (so any entity) is refused. A created time without
    an offset is read in `tz`.
    """
    result = _Result()
    version = ""
    try:
        version = _stream(data, result, tz)
    except ET.ParseError as error:
        line, _column = error.position
        raise StatementInvalid(f"not well-formed XML ({error.msg})", where=f"line {line}") from None
    except defusedxml.DTDForbidden:
        raise StatementInvalid(
            "a document type declaration is not accepted (so no entity can be)", where="DOCTYPE"
        ) from None
    except defusedxml.DefusedXmlException as error:  # entities without a DTD cannot occur
        raise StatementInvalid(f"refused XML construct ({error})", where="DOCTYPE") from None
    if not result.accounts:
        raise StatementInvalid("no Stmt: the document holds no statement", where="BkToCstmrStmt")
    lines = tuple(result.lines)
    return ParsedStatement(
        format=StatementFormat.CAMT053,
        version=version,
        accounts=tuple(dict.fromkeys(result.accounts)),
        period_start=min(result.starts),
        period_end=max(result.ends),
        created_at=result.created_at,
        opening_balance=result.opening,
        closing_balance=result.closing,
        total_incoming=sum(line.amount for line in lines if line.direction is Direction.INCOMING),
        total_outgoing=sum(line.amount for line in lines if line.direction is Direction.OUTGOING),
        lines=lines,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _stream(data: bytes, result: _Result, tz: ZoneInfo) -> str:
    """Walk the document once; return its version. Entries are dropped as soon as they are read."""
    events = defusedxml.ElementTree.iterparse(
        io.BytesIO(data), events=("start", "end"), forbid_dtd=True
    )
    version = ""
    names = _Names("")
    statement_tag = header_tag = account_tag = entry_tag = ""
    parents: list[ET.Element] = []  # the open elements: Document, BkToCstmrStmt, Stmt, ...
    statement: _Statement | None = None
    statements = 0
    for event, element in events:
        if event == "start":
            if not parents:
                version = _version_of(element.tag)
                names = _Names(NAMESPACE_PREFIX + version)
                statement_tag, header_tag, account_tag, entry_tag = (
                    names.tag(local) for local in ("Stmt", "GrpHdr", "Acct", "Ntry")
                )
            elif len(parents) == 2 and element.tag == statement_tag:
                statements += 1
                path = "Stmt" if statements == 1 else f"Stmt[{statements}]"
                statement = _Statement(path=path, tz=tz)
            parents.append(element)
            continue
        parents.pop()
        depth = len(parents)
        if depth == 3 and statement is not None:  # a child of Stmt
            if element.tag == entry_tag:
                statement.entries += 1
                _entry_read(element, names, statement, result)
                parents[-1].remove(element)  # the lines hold what is needed; the XML can go
            elif element.tag == account_tag:
                statement.account = _account_read(element, names, statement.path)
        elif depth == 2:
            if element.tag == statement_tag and statement is not None:
                _statement_close(element, names, statement, result)
                statement = None
            elif element.tag == header_tag:
                result.created_at = _created_at(element, names, tz)
            parents[-1].remove(element)
    return version


class _Names:
    """Paths of local names as tuples of qualified tags, so each step is a find() done in C.

    (ElementPath's namespaced paths cost more than the parsing itself on 100,000 entries.)
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self._paths: dict[str, tuple[str, ...]] = {}

    def tags(self, path: str) -> tuple[str, ...]:
        tags = self._paths.get(path)
        if tags is None:
            tags = tuple(f"{{{self.namespace}}}{step}" for step in path.split("/"))
            self._paths[path] = tags
        return tags

    def tag(self, local: str) -> str:
        return self.tags(local)[0]


def _find(element: ET.Element, path: str, names: _Names) -> ET.Element | None:
    found: ET.Element | None = element
    for tag in names.tags(path):
        found = found.find(tag)
        if found is None:
            return None
    return found


def _findall(element: ET.Element, path: str, names: _Names) -> list[ET.Element]:
    found = [element]
    for tag in names.tags(path):
        found = [child for parent in found for child in parent.findall(tag)]
    return found


def _version_of(tag: str) -> str:
    namespace = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    version = namespace.removeprefix(NAMESPACE_PREFIX)
    if not version.startswith("camt.053.") or tag.rpartition("}")[2] != "Document":
        raise StatementInvalid(
            f"the root element is not a camt.053 Document (it is {tag})", where="Document"
        )
    if version not in VERSIONS:
        raise StatementInvalid(
            f"{version} is not supported (supported: {', '.join(VERSIONS)})", where="Document"
        )
    return version


def _text(element: ET.Element, path: str, names: _Names) -> str | None:
    found = _find(element, path, names)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _created_at(header: ET.Element, names: _Names, tz: ZoneInfo) -> datetime.datetime:
    return _moment_parse(_text(header, "CreDtTm", names), where="GrpHdr/CreDtTm", tz=tz)


def _moment_parse(text: str | None, *, where: str, tz: ZoneInfo) -> datetime.datetime:
    """An ISO date and time in the bank's zone; one without an offset is the bank's local time."""
    try:
        moment = datetime.datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        raise StatementInvalid(f"{text!r} is not an ISO date and time", where=where) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def _account_read(account: ET.Element, names: _Names, path: str) -> str:
    number = _text(account, "Id/IBAN", names) or _text(account, "Id/Othr/Id", names)
    if number is None:
        raise StatementInvalid("the account has no Id/IBAN or Id/Othr/Id", where=f"{path}/Acct/Id")
    currency = _text(account, "Ccy", names)
    if currency not in (None, CURRENCY):
        raise StatementInvalid(
            f"the account is in {currency}; only {CURRENCY} statements are imported",
            where=f"{path}/Acct/Ccy",
        )
    return number


def _money(element: ET.Element, path: str, names: _Names, where: str) -> int:
    """A positive RUB amount at `path` (an `Amt` with its `Ccy` attribute)."""
    found = _find(element, path, names)
    if found is None:
        raise StatementInvalid("the amount is missing", where=where)
    currency = found.get("Ccy")
    if currency != CURRENCY:
        raise StatementInvalid(
            f"the amount is in {currency or 'no currency (Ccy)'}; only {CURRENCY} statements"
            " are imported",
            where=where,
        )
    return amount_parse((found.text or "").strip(), where=where)


def _entry_read(entry: ET.Element, names: _Names, statement: _Statement, result: _Result) -> None:
    where = f"{statement.path}/Ntry[{statement.entries}]"
    amount = _money(entry, "Amt", names, f"{where}/Amt")
    indicator = _text(entry, "CdtDbtInd", names)
    if indicator not in ("CRDT", "DBIT"):
        message = f"{indicator!r} is neither CRDT nor DBIT"
        raise StatementInvalid(message, where=f"{where}/CdtDbtInd")
    status = _find(entry, "Sts", names)
    # .02 writes the status as text, .08 as Sts/Cd.
    code = ""
    if status is not None:
        code = _text(status, "Cd", names) or (status.text or "").strip()
    if code and code != "BOOK":
        raise StatementInvalid(
            f"status {code}: a statement holds booked entries only", where=f"{where}/Sts"
        )
    if indicator == "CRDT":
        statement.credits += amount
        statement.credit_entries += 1
    else:
        statement.debits += amount
        statement.debit_entries += 1
    booked = _date(entry, "BookgDt", names, f"{where}/BookgDt", statement.tz)
    entry_ref = _text(entry, "AcctSvcrRef", names)
    transactions = _findall(entry, "NtryDtls/TxDtls", names)
    common = {
        "direction": Direction.INCOMING if indicator == "CRDT" else Direction.OUTGOING,
        "currency": CURRENCY,
        "account": statement.account,
        "booking_date": booked,
    }
    if len(transactions) <= 1:
        details = transactions[0] if transactions else None
        line_where = where if details is None else f"{where}/NtryDtls/TxDtls"
        if details is not None:
            _details_amount_check(details, names, amount, line_where)
        fields = _details_read(details, names, line_where, fallback_ref=entry_ref)
        result.lines.append(
            StatementLine(
                position=len(result.lines) + 1, where=where, amount=amount, **common, **fields
            )
        )
        return
    total = 0
    for index, details in enumerate(transactions, start=1):
        line_where = f"{where}/NtryDtls/TxDtls[{index}]"
        part = _details_amount(details, names, line_where)
        if part is None:
            raise StatementInvalid(
                "an entry of several transactions needs each one's amount (Amt or AmtDtls/TxAmt)",
                where=line_where,
            )
        total += part
        fields = _details_read(details, names, line_where, fallback_ref=None)
        result.lines.append(
            StatementLine(
                position=len(result.lines) + 1, where=line_where, amount=part, **common, **fields
            )
        )
    if total != amount:
        raise StatementInvalid(
            f"the transactions sum to {total / 100:.2f}, the entry's Amt is {amount / 100:.2f}",
            where=f"{where}/NtryDtls",
        )


def _details_amount(details: ET.Element, names: _Names, where: str) -> int | None:
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        if _find(details, path, names) is not None:
            return _money(details, path, names, f"{where}/{path}")
    return None


def _details_amount_check(details: ET.Element, names: _Names, amount: int, where: str):
    part = _details_amount(details, names, where)
    if part is not None and part != amount:
        raise StatementInvalid(
            f"the transaction's amount {part / 100:.2f} is not the entry's {amount / 100:.2f}",
            where=where,
        )


def _details_read(
    details: ET.Element | None, names: _Names, where: str, *, fallback_ref: str | None
) -> dict:
    """The payment's identity from one TxDtls: operation id, payer INN, document."""
    if details is None:
        return {
            "operation_id": _reference_id(fallback_ref),
            "payer_inn": None,
            "document_number": None,
            "document_date": None,
        }
    uetr = _text(details, "Refs/UETR", names)
    if uetr is not None and not _UUID.fullmatch(uetr):
        raise StatementInvalid(f"{uetr!r} is not a UUID", where=f"{where}/Refs/UETR")
    operation_id = (
        uuid.UUID(uetr)
        if uetr
        else _reference_id(_text(details, "Refs/AcctSvcrRef", names) or fallback_ref)
    )
    document = _find(details, "RmtInf/Strd/RfrdDocInf", names)
    number = document_date = None
    if document is not None:
        number = _raw_text(document, "Nb", names)
        related = _find(document, "RltdDt", names)
        if related is not None:
            # .02 writes the date itself; later versions may wrap it: RltdDt/Dt.
            inner = "RltdDt/Dt" if _find(related, "Dt", names) is not None else "RltdDt"
            document_date = date_parse(
                _text(document, inner, names),
                where=f"{where}/RmtInf/Strd/RfrdDocInf/{inner}",
                layout=_DATE,
            )
    return {
        "operation_id": operation_id,
        "payer_inn": _payer_inn(details, names),
        "document_number": number,
        "document_date": document_date,
    }


def _raw_text(element: ET.Element, path: str, names: _Names) -> str | None:
    """The text exactly as written (a document number is compared exactly: decision 0015)."""
    found = _find(element, path, names)
    return found.text if found is not None and found.text else None


def _reference_id(reference: str | None) -> uuid.UUID | None:
    return uuid.UUID(reference) if reference and _UUID.fullmatch(reference) else None


def _payer_inn(details: ET.Element, names: _Names) -> str | None:
    """The debtor's `Othr/Id` under the INN or TXID scheme (.08 nests the party in Dbtr/Pty)."""
    for party in ("RltdPties/Dbtr/Pty", "RltdPties/Dbtr"):
        for kind in ("OrgId", "PrvtId"):
            for other in _findall(details, f"{party}/Id/{kind}/Othr", names):
                scheme = _text(other, "SchmeNm/Prtry", names) or _text(other, "SchmeNm/Cd", names)
                if scheme is not None and scheme.upper() in _INN_SCHEMES:
                    return _text(other, "Id", names)
    return None


def _date(
    element: ET.Element, path: str, names: _Names, where: str, tz: ZoneInfo
) -> datetime.date | None:
    """`path/Dt`, else the bank's calendar day of `path/DtTm`."""
    day = _text(element, f"{path}/Dt", names)
    if day is not None:
        return date_parse(day, where=f"{where}/Dt", layout=_DATE)
    moment = _text(element, f"{path}/DtTm", names)
    if moment is not None:
        return _moment_parse(moment, where=f"{where}/DtTm", tz=tz).date()
    return None


def _statement_close(
    element: ET.Element, names: _Names, statement: _Statement, result: _Result
) -> None:
    path = statement.path
    if not statement.account:
        raise StatementInvalid("the statement names no account", where=f"{path}/Acct")
    opening, _, opening_date = _balance(element, names, statement, ("OPBD", "PRCD"))
    closing, closing_where, closing_date = _balance(element, names, statement, ("CLBD",))
    _summary_check(element, names, statement)
    if opening + statement.credits - statement.debits != closing:
        raise StatementInvalid(
            f"opening {opening / 100:.2f} + credits {statement.credits / 100:.2f} - debits"
            f" {statement.debits / 100:.2f} is not the closing balance {closing / 100:.2f}",
            where=closing_where,
        )
    start = _period_day(element, names, "FrDtTm", statement) or opening_date
    end = _period_day(element, names, "ToDtTm", statement) or closing_date
    if start is None or end is None:
        raise StatementInvalid("the statement has no period (FrToDt)", where=f"{path}/FrToDt")
    if start > end:
        raise StatementInvalid("FrDtTm is after ToDtTm", where=f"{path}/FrToDt")
    result.accounts.append(statement.account)
    result.starts.append(start)
    result.ends.append(end)
    result.opening += opening
    result.closing += closing


def _period_day(
    element: ET.Element, names: _Names, bound: str, statement: _Statement
) -> datetime.date | None:
    """The bank's calendar day of FrToDt/FrDtTm or ToDtTm."""
    moment = _text(element, f"FrToDt/{bound}", names)
    if moment is None:
        return None
    where = f"{statement.path}/FrToDt/{bound}"
    return _moment_parse(moment, where=where, tz=statement.tz).date()


def _balance(
    element: ET.Element, names: _Names, statement: _Statement, codes: tuple[str, ...]
) -> tuple[int, str, datetime.date | None]:
    """The signed amount of the first balance of the first type in `codes` present."""
    path = statement.path
    balances = _findall(element, "Bal", names)
    for code in codes:
        for index, balance in enumerate(balances, start=1):
            if _text(balance, "Tp/CdOrPrtry/Cd", names) != code:
                continue
            where = f"{path}/Bal[{index}]"
            found = _find(balance, "Amt", names)
            if found is None or found.get("Ccy") != CURRENCY:
                currency = found.get("Ccy") if found is not None else None
                raise StatementInvalid(
                    f"the balance is in {currency}; only {CURRENCY} statements are imported",
                    where=f"{where}/Amt",
                )
            amount = amount_parse((found.text or "").strip(), where=f"{where}/Amt", zero=True)
            sign = _text(balance, "CdtDbtInd", names)
            if sign not in ("CRDT", "DBIT"):
                raise StatementInvalid(
                    f"{sign!r} is neither CRDT nor DBIT", where=f"{where}/CdtDbtInd"
                )
            day = _date(balance, "Dt", names, f"{where}/Dt", statement.tz)
            return (amount if sign == "CRDT" else -amount), f"{where}/Amt", day
    raise StatementInvalid(f"no {' or '.join(codes)} balance", where=f"{path}/Bal")


def _summary_check(element: ET.Element, names: _Names, statement: _Statement) -> None:
    """TxsSummry, when the bank writes it, must count and sum the entries it summarizes."""
    where = f"{statement.path}/TxsSummry"
    expected = (
        ("TtlNtries/NbOfNtries", statement.entries, False),
        ("TtlCdtNtries/NbOfNtries", statement.credit_entries, False),
        ("TtlCdtNtries/Sum", statement.credits, True),
        ("TtlDbtNtries/NbOfNtries", statement.debit_entries, False),
        ("TtlDbtNtries/Sum", statement.debits, True),
    )
    for path, actual, is_money in expected:
        written = _text(element, f"TxsSummry/{path}", names)
        if written is None:
            continue
        if is_money:
            declared = amount_parse(written, where=f"{where}/{path}", zero=True)
        elif written.isdigit():
            declared = int(written)
        else:
            raise StatementInvalid(f"{written!r} is not a count", where=f"{where}/{path}")
        if declared != actual:
            shown = f"{actual / 100:.2f}" if is_money else str(actual)
            raise StatementInvalid(
                f"{written} disagrees with the entries ({shown})", where=f"{where}/{path}"
            )
