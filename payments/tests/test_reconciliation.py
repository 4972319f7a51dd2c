"""`manage.py reconcile`: every balance equals its ledger, or the command exits 1."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from payments.reconciliation import reconciliation_report
from payments.selectors import payment_pending_stale_list
from payments.services.crediting import payment_process
from testsupport.deliveries import operation

# These tests break ledgers on purpose, as only the owner's escape hatch can (docs/security.md).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_unguarded")]

INN, OTHER_INN = "1234567890", "9876543210"


def credit(*, payer_inn: str = INN, amount: int = 1000) -> None:
    payment_process(data=operation(payer_inn=payer_inn, amount=amount))


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def insert_payment(*, status: str, amount: int = 500, payer_inn: str = INN) -> int:
    """A payment written behind the service's back, as a bug or a manual session could."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO payment (operation_id, payer_inn, amount, document_number,
                                 document_date, document_day, status, credited_at)
            VALUES (%s, %s, %s, 'MANUAL', now(), current_date, %s,
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


def test_clean_ledger_passes_and_prints_the_summary_only(credited):
    """With 100k organizations the table was 100k lines."""
    assert reconcile().splitlines() == [
        "reconciliation ok: 2 organizations, 0 mismatched; 0 payment problems; "
        "0 payments pending longer than 1800 s"
    ]


def test_all_flag_prints_every_organization(credited):
    out = io.StringIO()
    call_command("reconcile", "--all", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].split() == [
        "inn", "balance", "log_total", "credited_total", "log_rows", "payments", "status"
    ]  # fmt: skip
    assert lines[1].split() == [INN, "3507", "3507", "3507", "3", "3", "ok"]
    assert lines[2].split() == [OTHER_INN, "300", "300", "300", "1", "1", "ok"]
    assert lines[3].startswith("reconciliation ok: 2 organizations, 0 mismatched")


def test_balance_tampered_in_sql_fails_with_exit_code_1(credited):
    sql("UPDATE organization SET balance = balance + 1 WHERE inn = %s", [INN])
    out = io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("reconcile", stdout=out)

    assert failure.value.returncode == 1
    assert "1 mismatched" in str(failure.value)
    # The mismatch only, under the header.
    assert [line.split() for line in out.getvalue().splitlines()] == [
        ["inn", "balance", "log_total", "credited_total", "log_rows", "payments", "status"],
        [INN, "3508", "3507", "3507", "3", "3", "MISMATCH"],
    ]


def test_sums_are_exact_across_many_payment_id_ranges(credited, monkeypatch):
    """The per-payment check runs range by range of payment ids (bounded work per statement);
    ranges of two ids split one organization's payments over several statements."""
    monkeypatch.setattr("payments.reconciliation.RECONCILIATION_CHUNK", 2)
    progress = []

    report = reconciliation_report(include_ok=True, on_progress=lambda *p: progress.append(p))

    assert report.ok
    totals = [
        (row.inn, row.balance, row.log_total, row.credited_total) for row in report.organizations
    ]
    assert totals == [(INN, 3507, 3507, 3507), (OTHER_INN, 300, 300, 300)]
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]  # two sums, two ranges


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_shown_on_a_terminal_only(credited):
    terminal, pipe = Terminal(), io.StringIO()

    call_command("reconcile", stdout=terminal)
    call_command("reconcile", stdout=pipe)

    assert "\rreconciling: step 3/3" in terminal.getvalue()
    assert "reconciling" not in pipe.getvalue()


def insert_pending(*, age_seconds: int) -> str:
    """A pending payment received age_seconds ago, as background mode leaves one whose credit
    job failed for good."""
    operation_id = uuid.uuid4()
    sql(
        """
        INSERT INTO organization (inn, name, balance) VALUES (%(inn)s, '', 0)
        ON CONFLICT (inn) DO NOTHING;
        INSERT INTO payment (operation_id, payer_inn, amount, document_number, document_date,
                             document_day, status, created_at)
        VALUES (%(op)s, %(inn)s, 700, 'PAY-9', now(), current_date, 'pending',
                now() - make_interval(secs => %(age)s))
        """,
        {"op": operation_id, "inn": INN, "age": age_seconds},
    )
    return str(operation_id)


def test_payment_pending_too_long_fails_and_is_named(credited):
    stale = insert_pending(age_seconds=3600)
    insert_pending(age_seconds=30)  # still within its retries: not reported
    out = io.StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("reconcile", stdout=out)

    assert failure.value.returncode == 1
    assert "1 payments pending longer than 1800 s" in str(failure.value)
    [line] = out.getvalue().splitlines()
    assert line.startswith(f"payment {stale}: pending for 3600 s (payer {INN}, amount 700, ")


def test_pending_after_flag_sets_the_threshold(credited):
    insert_pending(age_seconds=120)

    assert "0 payments pending longer than 1800 s" in reconcile()
    with pytest.raises(CommandError, match="1 payments pending longer than 60 s"):
        call_command("reconcile", "--pending-after", "60", stdout=io.StringIO())


def test_payment_pending_stale_list_is_oldest_first(credited):
    older, newer = insert_pending(age_seconds=5000), insert_pending(age_seconds=4000)
    insert_pending(age_seconds=10)

    stale = payment_pending_stale_list(older_than_seconds=600)

    assert [str(payment.operation_id) for payment in stale] == [older, newer]
    assert [payment.age_seconds for payment in stale] == [5000, 4000]


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
