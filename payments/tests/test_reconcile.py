"""`manage.py reconcile`: every balance equals its ledger, or the command exits 1."""

import io
import uuid
from datetime import datetime, timezone

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from payments.selectors import reconciliation_report
from payments.services import payment_process

# These tests break ledgers on purpose, as only the owner's escape hatch can (docs/security.md).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_unguarded")]

INN, OTHER_INN = "1234567890", "9876543210"


def credit(*, payer_inn: str = INN, amount: int = 1000) -> None:
    payment_process(
        operation_id=uuid.uuid4(),
        amount=amount,
        payer_inn=payer_inn,
        document_number="PAY-1",
        document_date=datetime(2024, 4, 27, 21, 0, tzinfo=timezone.utc),
    )


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def insert_payment(*, status: str, amount: int = 500, payer_inn: str = INN) -> int:
    """A payment written behind the service's back, as a bug or a manual session could."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO payment (operation_id, payer_inn, amount, document_number,
                                 document_date, status, credited_at)
            VALUES (%s, %s, %s, 'MANUAL', now(), %s,
                    CASE WHEN %s = 'credited' THEN now() END)
            RETURNING id
            """,
            [uuid.uuid4(), payer_inn, amount, status, status],
        )
        return cursor.fetchone()[0]


def reconcile() -> str:
    out = io.StringIO()
    call_command("reconcile", stdout=out)
    return out.getvalue()


@pytest.fixture
def credited() -> None:
    for amount in (1000, 2500, 7):
        credit(amount=amount)
    credit(payer_inn=OTHER_INN, amount=300)


def test_clean_ledger_passes_and_prints_the_table(credited):
    output = reconcile()

    lines = output.splitlines()
    assert lines[0].split() == [
        "inn", "balance", "log_total", "credited_total", "log_rows", "payments", "status"
    ]  # fmt: skip
    assert lines[1].split() == [INN, "3507", "3507", "3507", "3", "3", "ok"]
    assert lines[2].split() == [OTHER_INN, "300", "300", "300", "1", "1", "ok"]
    assert "reconciliation ok: 2 organizations, 0 mismatched; 0 payment problems" in output


def test_balance_tampered_in_sql_fails_with_exit_code_1(credited):
    sql("UPDATE organization SET balance = balance + 1 WHERE inn = %s", [INN])
    out = io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("reconcile", stdout=out)

    assert failure.value.returncode == 1
    assert "1 mismatched" in str(failure.value)
    assert [INN, "3508", "3507", "3507", "3", "3", "MISMATCH"] in [
        line.split() for line in out.getvalue().splitlines()
    ]


def test_credited_payment_without_a_log_row_is_reported(credited):
    insert_payment(status="credited")
    sql("UPDATE organization SET balance = balance + 500 WHERE inn = %s", [INN])

    report = reconciliation_report()

    assert not report.ok
    assert [problem.split(": ", 1)[1] for problem in report.payment_problems] == [
        "credited but no balance_log row"
    ]


def test_log_row_crediting_another_organization_is_reported(credited):
    payment_id = insert_payment(status="credited", payer_inn=INN)
    sql(
        """
        UPDATE organization SET balance = balance + 500 WHERE inn = %(other)s;
        INSERT INTO balance_log (organization_id, payment_id, delta, balance_after)
        SELECT id, %(payment)s, 500, balance FROM organization WHERE inn = %(other)s
        """,
        {"other": OTHER_INN, "payment": payment_id},
    )

    report = reconciliation_report()

    assert [problem.split(": ", 1)[1] for problem in report.payment_problems] == [
        f"balance_log credits {OTHER_INN}, payer is {INN}"
    ]
    assert [row.inn for row in report.organizations if not row.ok] == [INN, OTHER_INN]


def test_pending_payment_is_not_counted_until_credited(credited):
    # Background mode records the payment first and credits it later.
    insert_payment(status="pending")

    assert reconciliation_report().ok
