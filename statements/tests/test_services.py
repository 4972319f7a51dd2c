"""statement_import against real PostgreSQL: matching, crediting the missed, both channels."""

import datetime
import uuid

import pytest
from asgiref.sync import async_to_sync

from payments.models import BalanceLog, Organization, Payment
from payments.outcomes import PaymentOutcome
from payments.selectors import payment_get
from payments.services.crediting import PaymentResult, payment_accept, payment_process
from statements import services
from statements.models import StatementLine
from statements.services import statement_import
from statements.tests.statements import line, statement
from statements.types import Direction
from testsupport.deliveries import operation

pytestmark = pytest.mark.django_db

INN = "7707083893"
# The task's example: 21:00Z on 27.04 is 00:00 on 28.04 in Moscow, the bank's zone.
TASK_DATE = datetime.datetime(2024, 4, 27, 21, 0, tzinfo=datetime.UTC)


def webhook(**overrides) -> PaymentResult:
    return payment_process(
        data=operation(
            **{
                "amount": 145000,
                "payer_inn": INN,
                "document_number": "PAY-328",
                "document_date": TASK_DATE,
                **overrides,
            }
        )
    )


def balance(inn: str = INN) -> int:
    return Organization.objects.get(inn=inn).balance


def test_a_missed_webhook_is_credited_by_its_line_with_source_statement():
    report = statement_import(parsed=statement(line()))

    assert [c.amount for c in report.credited] == [145000]
    assert report.matched == () and report.conflicts == ()
    payment = Payment.objects.get()
    assert (payment.source, payment.operation_id_synthetic) == ("statement", True)
    assert report.credited[0].operation_id == payment.operation_id
    assert balance() == 145000
    assert BalanceLog.objects.get().payment == payment
    assert StatementLine.objects.get().payment == payment


def test_a_webhook_of_the_task_example_matches_the_line_of_28_april():
    webhook()

    report = statement_import(parsed=statement(line(document_date=datetime.date(2024, 4, 28))))

    assert [m.amount for m in report.matched] == [145000]
    assert report.credited == ()
    assert balance() == 145000


def test_a_line_of_27_april_does_not_match_the_task_example():
    webhook()

    report = statement_import(parsed=statement(line(document_date=datetime.date(2024, 4, 27))))

    assert report.matched == ()
    assert len(report.credited) == 1


def test_the_document_number_matches_exactly_as_written():
    webhook(document_number="PAY-328")

    report = statement_import(parsed=statement(line(document_number="pay-328")))

    assert report.matched == () and len(report.credited) == 1


def test_the_same_file_again_is_already_imported_and_credits_nothing():
    parsed = statement(line())
    first = statement_import(parsed=parsed)

    again = statement_import(parsed=parsed)

    assert (first.already_imported, again.already_imported) == (False, True)
    assert again.credited == first.credited
    assert again.statement.id == first.statement.id
    assert balance() == 145000
    assert Payment.objects.count() == 1


def test_an_overlapping_statement_matches_what_the_days_statement_credited():
    statement_import(parsed=statement(line()))

    month = statement_import(
        parsed=statement(
            line(),
            line(amount=500, document_number="PAY-400", document_date=datetime.date(2024, 4, 29)),
            period=(datetime.date(2024, 4, 1), datetime.date(2024, 4, 30)),
        )
    )

    assert [m.amount for m in month.matched] == [145000]
    assert [c.amount for c in month.credited] == [500]
    assert balance() == 145500


def test_several_lines_of_one_identity_match_as_many_payments_never_more():
    webhook()

    report = statement_import(parsed=statement(line(), line(), line()))

    assert len(report.matched) == 1
    assert len(report.credited) == 2
    assert balance() == 3 * 145000
    # Every payment of the identity is held by one line of the statement.
    held = StatementLine.objects.values_list("payment_id", flat=True)
    assert len(set(held)) == 3


def test_two_webhooks_of_one_identity_are_matched_by_two_lines():
    webhook()
    webhook()

    report = statement_import(parsed=statement(line(), line()))

    assert len(report.matched) == 2 and report.credited == ()
    assert balance() == 2 * 145000


def test_a_late_webhook_with_a_new_operation_id_is_a_duplicate_found_by_its_id():
    statement_import(parsed=statement(line()))
    late = operation(
        amount=145000, payer_inn=INN, document_number="PAY-328", document_date=TASK_DATE
    )

    assert payment_process(data=late) == PaymentResult(PaymentOutcome.DUPLICATE)
    assert payment_process(data=late) == PaymentResult(PaymentOutcome.DUPLICATE)

    assert balance() == 145000
    payment = async_to_sync(payment_get)(operation_id=late.operation_id)
    assert (payment.source, payment.operation_id_synthetic) == ("statement", False)


def test_a_late_webhook_in_background_mode_is_a_duplicate_too():
    statement_import(parsed=statement(line()))
    late = operation(
        amount=145000, payer_inn=INN, document_number="PAY-328", document_date=TASK_DATE
    )

    assert payment_accept(data=late) == PaymentResult(PaymentOutcome.DUPLICATE)
    assert Payment.objects.get().operation_id == late.operation_id


def test_a_second_late_webhook_of_one_identity_is_credited():
    """One line credited one payment: the second webhook of that identity is a new payment."""
    statement_import(parsed=statement(line()))

    assert webhook().outcome is PaymentOutcome.DUPLICATE
    assert webhook().outcome is PaymentOutcome.CREDITED
    assert balance() == 2 * 145000


def test_the_report_names_the_operation_id_the_late_webhook_gave():
    parsed = statement(line())
    statement_import(parsed=parsed)
    late = webhook()
    assert late.outcome is PaymentOutcome.DUPLICATE

    again = statement_import(parsed=parsed)

    assert again.credited[0].operation_id == Payment.objects.get().operation_id


def test_a_line_with_the_webhooks_operation_id_matches_it():
    operation_id = uuid.uuid4()
    webhook(operation_id=operation_id)

    report = statement_import(parsed=statement(line(operation_id=operation_id)))

    assert [m.operation_id for m in report.matched] == [operation_id]
    assert balance() == 145000


def test_a_webhook_after_a_line_with_its_operation_id_is_a_duplicate():
    operation_id = uuid.uuid4()
    report = statement_import(parsed=statement(line(operation_id=operation_id)))
    assert [c.operation_id for c in report.credited] == [operation_id]

    assert webhook(operation_id=operation_id).outcome is PaymentOutcome.DUPLICATE
    assert balance() == 145000
    assert Payment.objects.get().operation_id_synthetic is False


def test_a_line_with_an_operation_id_takes_a_payment_a_1c_statement_credited():
    """A 1C statement (no ids) credits it; the camt.053 of the same day names its UETR."""
    statement_import(parsed=statement(line()))
    operation_id = uuid.uuid4()

    report = statement_import(parsed=statement(line(operation_id=operation_id)))

    assert [m.operation_id for m in report.matched] == [operation_id]
    assert balance() == 145000


@pytest.mark.parametrize(
    ("differs", "fields"),
    [({"amount": 1}, ("amount",)), ({"payer_inn": "500100732259"}, ("payer_inn",))],
)
def test_a_line_whose_operation_differs_is_a_conflict_never_credited(differs, fields):
    operation_id = uuid.uuid4()
    webhook(operation_id=operation_id)

    report = statement_import(parsed=statement(line(operation_id=operation_id, **differs)))

    (conflict,) = report.conflicts
    assert conflict.differing_fields == fields
    assert conflict.payment_operation_id == operation_id
    assert report.credited == () and report.matched == ()
    assert Payment.objects.count() == 1
    assert balance() == 145000


def test_a_line_naming_no_payer_is_a_conflict_never_credited():
    report = statement_import(parsed=statement(line(payer_inn=None)))

    assert [c.differing_fields for c in report.conflicts] == [("unidentified",)]
    assert Payment.objects.count() == 0


def test_outgoing_lines_are_counted_never_credited():
    report = statement_import(
        parsed=statement(line(), line(amount=700, direction=Direction.OUTGOING))
    )

    assert (report.statement.lines_total, report.statement.lines_incoming) == (2, 1)
    assert report.statement.lines_outgoing == 1
    assert balance() == 145000


def test_an_interrupted_import_is_resumed_by_the_same_file():
    parsed = statement(line(), line(amount=1))
    # As if the process died right after storing the lines: nothing settled yet.
    services._statement_store(parsed=parsed, filename="")

    report = statement_import(parsed=parsed)

    assert report.already_imported is False
    assert len(report.credited) == 2
    assert balance() == 145001


def test_the_report_as_json():
    report = statement_import(parsed=statement(line()))

    body = report.as_dict()

    assert body["already_imported"] is False
    assert body["statement"]["period_start"] == "2024-04-28"
    assert body["credited"][0]["amount"] == 145000
    assert body["credited"][0]["document_date"] == "2024-04-28"
    assert uuid.UUID(body["credited"][0]["operation_id"])
