"""camt.053 entries to statement lines: each `Ntry` and its transactions (`TxDtls`), with the
payment's identity (operation id, payer INN, document) and the sums its statement is checked by.
"""

import dataclasses
import datetime
import re
import uuid

# Only the Element type; every parse goes through defusedxml (camt053.py).
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

from statements.errors import StatementInvalid
from statements.parsers.camt053_xml import (
    CURRENCY,
    DATE_LAYOUT,
    Names,
    date_read,
    element_find,
    element_findall,
    element_raw_text,
    element_text,
    money_read,
)
from statements.parsers.values import date_parse
from statements.types import Direction, StatementLine

_INN_SCHEMES = frozenset({"INN", "TXID"})
# UETR is this form (ISO 20022 UUIDv4Identifier); an AcctSvcrRef is an operation id only in it.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


@dataclasses.dataclass
class StatementReading:
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
class DocumentReading:
    """The whole document being read: each closed Stmt's account, period and balances, and the
    lines of every entry read so far."""

    accounts: list[str] = dataclasses.field(default_factory=list)
    starts: list[datetime.date] = dataclasses.field(default_factory=list)
    ends: list[datetime.date] = dataclasses.field(default_factory=list)
    opening: int = 0
    closing: int = 0
    lines: list[StatementLine] = dataclasses.field(default_factory=list)
    created_at: datetime.datetime | None = None


def entry_read(
    entry: ET.Element, names: Names, statement: StatementReading, result: DocumentReading
) -> None:
    where = f"{statement.path}/Ntry[{statement.entries}]"
    amount = money_read(entry, "Amt", names, f"{where}/Amt")
    indicator = element_text(entry, "CdtDbtInd", names)
    if indicator not in ("CRDT", "DBIT"):
        message = f"{indicator!r} is neither CRDT nor DBIT"
        raise StatementInvalid(message, where=f"{where}/CdtDbtInd")
    status = element_find(entry, "Sts", names)
    # .02 writes the status as text, .08 as Sts/Cd.
    code = ""
    if status is not None:
        code = element_text(status, "Cd", names) or (status.text or "").strip()
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
    booked = date_read(entry, "BookgDt", names, f"{where}/BookgDt", statement.tz)
    entry_ref = element_text(entry, "AcctSvcrRef", names)
    transactions = element_findall(entry, "NtryDtls/TxDtls", names)
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


def _details_amount(details: ET.Element, names: Names, where: str) -> int | None:
    for path in ("Amt", "AmtDtls/TxAmt/Amt"):
        if element_find(details, path, names) is not None:
            return money_read(details, path, names, f"{where}/{path}")
    return None


def _details_amount_check(details: ET.Element, names: Names, amount: int, where: str):
    part = _details_amount(details, names, where)
    if part is not None and part != amount:
        raise StatementInvalid(
            f"the transaction's amount {part / 100:.2f} is not the entry's {amount / 100:.2f}",
            where=where,
        )


def _details_read(
    details: ET.Element | None, names: Names, where: str, *, fallback_ref: str | None
) -> dict:
    """The payment's identity from one TxDtls: operation id, payer INN, document."""
    if details is None:
        return {
            "operation_id": _reference_id(fallback_ref),
            "payer_inn": None,
            "document_number": None,
            "document_date": None,
        }
    uetr = element_text(details, "Refs/UETR", names)
    if uetr is not None and not _UUID.fullmatch(uetr):
        raise StatementInvalid(f"{uetr!r} is not a UUID", where=f"{where}/Refs/UETR")
    operation_id = (
        uuid.UUID(uetr)
        if uetr
        else _reference_id(element_text(details, "Refs/AcctSvcrRef", names) or fallback_ref)
    )
    document = element_find(details, "RmtInf/Strd/RfrdDocInf", names)
    number = document_date = None
    if document is not None:
        number = element_raw_text(document, "Nb", names)
        related = element_find(document, "RltdDt", names)
        if related is not None:
            # .02 writes the date itself; later versions may wrap it: RltdDt/Dt.
            inner = "RltdDt/Dt" if element_find(related, "Dt", names) is not None else "RltdDt"
            document_date = date_parse(
                element_text(document, inner, names),
                where=f"{where}/RmtInf/Strd/RfrdDocInf/{inner}",
                layout=DATE_LAYOUT,
            )
    return {
        "operation_id": operation_id,
        "payer_inn": _payer_inn(details, names),
        "document_number": number,
        "document_date": document_date,
    }


def _reference_id(reference: str | None) -> uuid.UUID | None:
    return uuid.UUID(reference) if reference and _UUID.fullmatch(reference) else None


def _payer_inn(details: ET.Element, names: Names) -> str | None:
    """The debtor's `Othr/Id` under the INN or TXID scheme (.08 nests the party in Dbtr/Pty)."""
    for party in ("RltdPties/Dbtr/Pty", "RltdPties/Dbtr"):
        for kind in ("OrgId", "PrvtId"):
            for other in element_findall(details, f"{party}/Id/{kind}/Othr", names):
                scheme = element_text(other, "SchmeNm/Prtry", names) or element_text(
                    other, "SchmeNm/Cd", names
                )
                if scheme is not None and scheme.upper() in _INN_SCHEMES:
                    return element_text(other, "Id", names)
    return None
