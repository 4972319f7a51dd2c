"""Reads: a stored statement's report, and the credits no statement confirms."""

from datetime import timedelta

from django.conf import settings
from django.db import connection

from statements.errors import StatementNotFound
from statements.models import Statement
from statements.report import (
    CreditUnconfirmed,
    LineConflict,
    LineCredited,
    LineMatched,
    StatementReport,
    StatementSummary,
)

# A bank books a payment on its day; the webhook may reach us minutes (or, with retries, hours)
# either side of the bank's midnight, so our credit's day and the statement's may differ. A
# credit is judged only once the statements of every bank day within this margin of it are in
# (docs/statements.md, "Unconfirmed credits and the midnight rule").
CONFIRMATION_MARGIN = timedelta(hours=2)

_LINES = """
    SELECT l.position, l."where", l.result, l.amount, l.payer_inn, l.document_number,
           l.document_date, l.operation_id, l.differing_fields,
           p.operation_id, p.payer_inn, p.amount
    FROM statement_line l LEFT JOIN payment p ON p.id = l.payment_id
    WHERE l.statement_id = %s AND l.direction = 'in'
    ORDER BY l.position
"""

# A credited payment is confirmed by any statement line matched to it (or that credited it). It
# is unconfirmed once, for each bank day within the margin of its credit, an imported statement
# covers that day and was made after the credit (plus the margin) — and none lists it.
_UNCONFIRMED = """
    SELECT p.operation_id, p.payer_inn, p.amount, p.document_number, p.document_date,
           p.credited_at
    FROM payment p
    WHERE p.status = 'credited'
      AND p.credited_at >= (SELECT min(period_start) FROM statement
                            WHERE imported_at IS NOT NULL)::timestamp AT TIME ZONE %(zone)s
                           - %(margin)s
      AND NOT EXISTS (
          SELECT 1 FROM statement_line l
          WHERE l.payment_id = p.id AND l.result IN ('matched', 'credited')
      )
      AND NOT EXISTS (
          SELECT 1
          FROM (VALUES (((p.credited_at - %(margin)s) AT TIME ZONE %(zone)s)::date),
                       (((p.credited_at + %(margin)s) AT TIME ZONE %(zone)s)::date)) AS d(day)
          WHERE NOT EXISTS (
              SELECT 1 FROM statement s
              WHERE s.imported_at IS NOT NULL
                AND s.period_start <= d.day AND d.day <= s.period_end
                AND coalesce(s.created_at, s.imported_at) > p.credited_at + %(margin)s
          )
      )
    ORDER BY p.credited_at, p.id
"""

_CONFLICTS = """
    SELECT s.id, s.period_start, s.period_end, l."where", l.differing_fields, l.operation_id,
           l.payer_inn, l.amount
    FROM statement_line l JOIN statement s ON s.id = l.statement_id
    WHERE l.result = 'conflict'
    ORDER BY s.id, l.position
"""

_CONFLICTS_COUNT = "SELECT count(*) FROM statement_line WHERE result = 'conflict'"


def statement_report_get(*, statement_id: int) -> StatementReport:
    """The report of a statement already imported; raise StatementNotFound."""
    if not Statement.objects.filter(id=statement_id).exists():
        raise StatementNotFound(
            "No statement with this id.", details={"statement_id": statement_id}
        )
    return statement_report_build(statement_id=statement_id, already_imported=True)


def statement_report_build(*, statement_id: int, already_imported: bool) -> StatementReport:
    """The report of a stored statement as the ledger stands now."""
    statement = Statement.objects.get(id=statement_id)
    matched, credited, conflicts = [], [], []
    with connection.cursor() as cursor:
        cursor.execute(_LINES, [statement_id])
        for row in cursor.fetchall():
            (position, where, result, amount, payer_inn, number, day, line_operation,
             differing, operation_id, payment_inn, payment_amount) = row  # fmt: skip
            if result == "matched":
                matched.append(LineMatched(position, where, operation_id, payment_inn, amount))
            elif result == "credited":
                credited.append(
                    LineCredited(position, where, operation_id, payer_inn, amount, number, day)
                )
            elif result == "conflict":
                conflicts.append(
                    LineConflict(
                        position, where, line_operation, tuple(differing), amount, payer_inn,
                        operation_id, payment_amount, payment_inn,
                    )
                )  # fmt: skip
    return StatementReport(
        statement=StatementSummary(
            id=statement.id,
            accounts=tuple(statement.accounts),
            period_start=statement.period_start,
            period_end=statement.period_end,
            format=statement.format,
            version=statement.version,
            created_at=statement.created_at,
            imported_at=statement.imported_at,
            lines_total=statement.lines_total,
            lines_incoming=statement.lines_incoming,
            lines_outgoing=statement.lines_outgoing,
        ),
        matched=tuple(matched),
        credited=tuple(credited),
        conflicts=tuple(conflicts),
        unconfirmed=tuple(credits_unconfirmed_list()),
        already_imported=already_imported,
    )


def credits_unconfirmed_list() -> list[CreditUnconfirmed]:
    """Every credit the imported statements should list and do not, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            _UNCONFIRMED, {"zone": settings.BANK_TIME_ZONE, "margin": CONFIRMATION_MARGIN}
        )
        return [CreditUnconfirmed(*row) for row in cursor.fetchall()]


def statement_conflicts_count() -> int:
    """Statement lines that conflict with the ledger, in every statement."""
    with connection.cursor() as cursor:
        cursor.execute(_CONFLICTS_COUNT)
        return cursor.fetchone()[0]


def statement_problems_list() -> list[str]:
    """Every conflict and unconfirmed credit, one line each, for `manage.py reconcile`."""
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(_CONFLICTS)
        for statement_id, start, end, where, differing, operation_id, inn, amount in cursor:
            problems.append(
                f"line {where} of statement {statement_id} ({start}..{end}): conflict on "
                f"{','.join(differing)} (operation {operation_id}, payer {inn}, amount {amount})"
            )
    problems += [
        f"credit {credit.operation_id}: no statement confirms it (payer {credit.payer_inn}, "
        f"amount {credit.amount}, document {credit.document_number}, "
        f"credited {credit.credited_at.isoformat()})"
        for credit in credits_unconfirmed_list()
    ]
    return problems
