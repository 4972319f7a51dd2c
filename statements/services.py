"""Writes: importing a bank statement into the ledger."""

from statements.report import StatementReport
from statements.types import ParsedStatement


def statement_import(*, parsed: ParsedStatement, filename: str = "") -> StatementReport:
    """Store a parsed statement, match its incoming lines to payments and credit what is missing.

    Idempotent on parsed.sha256: the same file again returns the stored report with
    already_imported=True and credits nothing. Each missed line is credited through payments'
    exactly-once path (payments.services.crediting), so a webhook of the same payment, before,
    during or after the import, never credits it twice. A line whose operation id names a
    payment that differs in amount or payer is a conflict: reported, never credited.
    """
    raise NotImplementedError
