"""ISO 20022 bank-to-customer statements (`camt.053.001.02` and `camt.053.001.08`).

Read as a stream: each `Ntry` is turned into lines when it closes and then dropped from the tree,
so memory holds the lines, not the XML. Parsed by defusedxml with document type declarations
refused outright (docs/decisions/0140). Here: the walk and each statement's balances and
summaries; the XML helpers and values are in camt053_xml.py, the entries in camt053_entries.py.
The mapping and the refusals are in docs/statements.md#formats.
"""

import datetime
import hashlib
import io

# Only ParseError and the Element type; every parse goes through defusedxml.
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import defusedxml
import defusedxml.ElementTree

from statements.errors import StatementInvalid
from statements.parsers.camt053_entries import DocumentReading, StatementReading, entry_read
from statements.parsers.camt053_xml import (
    CURRENCY,
    NAMESPACE_PREFIX,
    Names,
    date_read,
    element_find,
    element_findall,
    element_text,
    moment_parse,
    version_of,
)
from statements.parsers.values import MOSCOW, amount_parse
from statements.types import Direction, ParsedStatement, StatementFormat


def camt053_statement_parse(*, data: bytes, tz: ZoneInfo = MOSCOW) -> ParsedStatement:
    """Parse a camt.053 document whose balances and summaries agree with its entries.

    Raises StatementInvalid naming the element ("Stmt/Ntry[5]/Amt") for anything unreadable,
    unsupported or inconsistent; a DOCTYPE (so any entity) is refused. A created time without
    an offset is read in `tz`.
    """
    result = DocumentReading()
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


def _stream(data: bytes, result: DocumentReading, tz: ZoneInfo) -> str:
    """Walk the document once; return its version. Entries are dropped as soon as they are read."""
    events = defusedxml.ElementTree.iterparse(
        io.BytesIO(data), events=("start", "end"), forbid_dtd=True
    )
    version = ""
    names = Names("")
    statement_tag = header_tag = account_tag = entry_tag = ""
    parents: list[ET.Element] = []  # the open elements: Document, BkToCstmrStmt, Stmt, ...
    statement: StatementReading | None = None
    statements = 0
    for event, element in events:
        if event == "start":
            if not parents:
                version = version_of(element.tag)
                names = Names(NAMESPACE_PREFIX + version)
                statement_tag, header_tag, account_tag, entry_tag = (
                    names.tag(local) for local in ("Stmt", "GrpHdr", "Acct", "Ntry")
                )
            elif len(parents) == 2 and element.tag == statement_tag:
                statements += 1
                path = "Stmt" if statements == 1 else f"Stmt[{statements}]"
                statement = StatementReading(path=path, tz=tz)
            parents.append(element)
            continue
        parents.pop()
        depth = len(parents)
        if depth == 3 and statement is not None:  # a child of Stmt
            if element.tag == entry_tag:
                statement.entries += 1
                entry_read(element, names, statement, result)
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


def _created_at(header: ET.Element, names: Names, tz: ZoneInfo) -> datetime.datetime:
    return moment_parse(element_text(header, "CreDtTm", names), where="GrpHdr/CreDtTm", tz=tz)


def _account_read(account: ET.Element, names: Names, path: str) -> str:
    number = element_text(account, "Id/IBAN", names) or element_text(account, "Id/Othr/Id", names)
    if number is None:
        raise StatementInvalid("the account has no Id/IBAN or Id/Othr/Id", where=f"{path}/Acct/Id")
    currency = element_text(account, "Ccy", names)
    if currency not in (None, CURRENCY):
        raise StatementInvalid(
            f"the account is in {currency}; only {CURRENCY} statements are imported",
            where=f"{path}/Acct/Ccy",
        )
    return number


def _statement_close(
    element: ET.Element, names: Names, statement: StatementReading, result: DocumentReading
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
    element: ET.Element, names: Names, bound: str, statement: StatementReading
) -> datetime.date | None:
    """The bank's calendar day of FrToDt/FrDtTm or ToDtTm."""
    moment = element_text(element, f"FrToDt/{bound}", names)
    if moment is None:
        return None
    where = f"{statement.path}/FrToDt/{bound}"
    return moment_parse(moment, where=where, tz=statement.tz).date()


def _balance(
    element: ET.Element, names: Names, statement: StatementReading, codes: tuple[str, ...]
) -> tuple[int, str, datetime.date | None]:
    """The signed amount of the first balance of the first type in `codes` present."""
    path = statement.path
    balances = element_findall(element, "Bal", names)
    for code in codes:
        for index, balance in enumerate(balances, start=1):
            if element_text(balance, "Tp/CdOrPrtry/Cd", names) != code:
                continue
            where = f"{path}/Bal[{index}]"
            found = element_find(balance, "Amt", names)
            if found is None or found.get("Ccy") != CURRENCY:
                currency = found.get("Ccy") if found is not None else None
                raise StatementInvalid(
                    f"the balance is in {currency}; only {CURRENCY} statements are imported",
                    where=f"{where}/Amt",
                )
            amount = amount_parse((found.text or "").strip(), where=f"{where}/Amt", zero=True)
            sign = element_text(balance, "CdtDbtInd", names)
            if sign not in ("CRDT", "DBIT"):
                raise StatementInvalid(
                    f"{sign!r} is neither CRDT nor DBIT", where=f"{where}/CdtDbtInd"
                )
            day = date_read(balance, "Dt", names, f"{where}/Dt", statement.tz)
            return (amount if sign == "CRDT" else -amount), f"{where}/Amt", day
    raise StatementInvalid(f"no {' or '.join(codes)} balance", where=f"{path}/Bal")


def _summary_check(element: ET.Element, names: Names, statement: StatementReading) -> None:
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
        written = element_text(element, f"TxsSummry/{path}", names)
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
