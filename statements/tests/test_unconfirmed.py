"""Credits no statement confirms: the rule, near the bank's midnight too (docs/statements.md).

A credit's time is moved by hand (credit_times_editable) to the instant each case needs.
"""

import datetime

import pytest
from django.db import connection

from payments.services.crediting import payment_process
from statements.selectors import CONFIRMATION_MARGIN, credits_unconfirmed_list
from statements.services import statement_import
from statements.tests.statements import MOSCOW, line, statement
from testsupport.deliveries import operation

pytestmark = pytest.mark.django_db

INN = "7707083893"
D = datetime.date(2024, 4, 28)
NEXT = D + datetime.timedelta(days=1)


def moscow(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=MOSCOW)


@pytest.fixture
def credit_times_editable(ledger_unguarded) -> None:
    """Credits may be moved in time: the append-only rule is off too, rolled back with the test."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE payment DISABLE TRIGGER payment_append_only")


def credited_at(instant: datetime.datetime, number: str = "PAY-328"):
    """A webhook's credit, made at instant (the document of D, as in the task's example)."""
    data = operation(
        amount=145000,
        payer_inn=INN,
        document_number=number,
        document_date=datetime.datetime(2024, 4, 27, 21, 0, tzinfo=datetime.UTC),
    )
    payment_process(data=data)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payment SET created_at = %s, credited_at = %s WHERE operation_id = %s",
            [instant, instant, data.operation_id],
        )
    return data.operation_id


def day_statement(day: datetime.date, *lines, created_at=None):
    return statement(
        *lines, period=(day, day), created_at=created_at or moscow(day + datetime.timedelta(1), 6)
    )


def unconfirmed() -> list:
    return [credit.operation_id for credit in credits_unconfirmed_list()]


def test_a_credit_the_days_statement_does_not_list_is_unconfirmed(credit_times_editable):
    operation_id = credited_at(moscow(D, 12))

    report = statement_import(parsed=day_statement(D, line(document_number="OTHER")))

    (credit,) = report.unconfirmed
    assert (credit.operation_id, credit.payer_inn, credit.amount) == (operation_id, INN, 145000)
    assert credit.document_number == "PAY-328"


def test_a_credit_the_days_statement_lists_is_confirmed(credit_times_editable):
    credited_at(moscow(D, 12))

    report = statement_import(parsed=day_statement(D, line()))

    assert report.unconfirmed == ()
    assert len(report.matched) == 1


def test_a_statement_made_before_the_credit_does_not_judge_it(credit_times_editable):
    credited_at(moscow(D, 12))

    statement_import(
        parsed=day_statement(D, line(document_number="OTHER"), created_at=moscow(D, 11))
    )

    assert unconfirmed() == []


def test_a_credit_on_a_day_no_statement_covers_is_not_judged(credit_times_editable):
    credited_at(moscow(NEXT, 12))

    statement_import(parsed=day_statement(D, line(document_number="OTHER")))

    assert unconfirmed() == []


def test_a_credit_just_before_midnight_waits_for_the_next_days_statement(credit_times_editable):
    """23:30 on D: the bank may book it on D+1, so D's statement alone does not judge it."""
    operation_id = credited_at(moscow(D, 23, 30))

    statement_import(parsed=day_statement(D, line(document_number="OTHER")))
    assert unconfirmed() == []

    statement_import(parsed=day_statement(NEXT, line(document_number="OTHER-2")))
    assert unconfirmed() == [operation_id]


def test_a_credit_just_after_midnight_is_confirmed_by_the_previous_days_statement(
    credit_times_editable,
):
    """The bank booked it at 23:58 on D, the webhook came at 00:30 on D+1: D's statement lists
    it, and that confirms it whatever day the credit fell on."""
    credited_at(moscow(NEXT, 0, 30))

    statement_import(parsed=day_statement(D, line()))
    statement_import(parsed=day_statement(NEXT, line(document_number="OTHER")))

    assert unconfirmed() == []


def test_a_credit_just_after_midnight_no_statement_lists_is_unconfirmed(credit_times_editable):
    operation_id = credited_at(moscow(NEXT, 0, 30))

    statement_import(parsed=day_statement(NEXT, line(document_number="OTHER")))
    assert unconfirmed() == []  # D, within the margin, has no statement yet

    statement_import(parsed=day_statement(D, line(document_number="OTHER-2")))
    assert unconfirmed() == [operation_id]


def test_the_margin_is_what_the_docs_say():
    assert datetime.timedelta(hours=2) == CONFIRMATION_MARGIN
