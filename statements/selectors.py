"""Reads: a stored statement's report."""

from statements.report import StatementReport


def statement_report_get(*, statement_id: int) -> StatementReport:
    """The report of a statement already imported; raise StatementNotFound."""
    raise NotImplementedError
