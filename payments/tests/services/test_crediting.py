"""payment_process against real PostgreSQL, one call at a time."""

import uuid
from dataclasses import replace

import pytest
from django.db import IntegrityError, connection, transaction

from payments.errors import BalanceOverflow, PaymentConflict
from payments.models import BalanceLog, Organization, Payment
from payments.outcomes import PaymentOutcome
from payments.services.crediting import PaymentData, PaymentResult, payment_process
from payments.services.identity import advisory_key
from testsupport.deliveries import SERVICE_INN
from testsupport.deliveries import operation as service_operation

pytestmark = pytest.mark.django_db

INN = SERVICE_INN


def operation(**overrides) -> PaymentData:
    """The task's example amount and document number, a fresh operation_id."""
    return service_operation(**{"amount": 145000, "document_number": "PAY-328", **overrides})


def test_a_payment_is_not_credited_before_it_was_created():
    """created_at (the column default, the INSERT's statement time) and credited_at come from
    one clock reading in the crediting statement."""
    op = operation()
    payment_process(data=op)

    payment = Payment.objects.get(operation_id=op.operation_id)
    assert payment.credited_at == payment.created_at


def test_new_operation_credits_existing_organization_and_logs_it(ledger_unguarded):
    organization = Organization.objects.create(inn=INN, name="Sber", balance=1000)
    op = operation()

    assert payment_process(data=op) == PaymentResult(PaymentOutcome.CREDITED, balance_after=146000)

    organization.refresh_from_db()
    assert organization.balance == 146000
    payment = Payment.objects.get(operation_id=op.operation_id)
    assert payment.status == Payment.Status.CREDITED
    assert payment.credited_at is not None
    log = BalanceLog.objects.get()
    assert (log.organization_id, log.payment_id, log.delta, log.balance_after) == (
        organization.id,
        payment.id,
        145000,
        146000,
    )


def test_balance_log_records_running_balance():
    for amount in (100, 250, 650):
        payment_process(data=operation(amount=amount))

    assert list(BalanceLog.objects.order_by("id").values_list("delta", "balance_after")) == [
        (100, 100),
        (250, 350),
        (650, 1000),
    ]


def test_unknown_inn_creates_organization_on_first_payment(caplog):
    payment_process(data=operation(payer_inn="500100732259"))

    organization = Organization.objects.get(inn="500100732259")
    assert organization.balance == 145000
    assert "organization created by its first payment" in caplog.text


def test_duplicate_changes_nothing():
    op = operation()
    payment_process(data=op)

    assert payment_process(data=op) == PaymentResult(PaymentOutcome.DUPLICATE, balance_after=None)
    assert Organization.objects.get(inn=INN).balance == 145000
    assert Payment.objects.count() == 1
    assert BalanceLog.objects.count() == 1


def test_conflicting_repeat_raises_and_changes_nothing(caplog):
    op = operation()
    payment_process(data=op)

    with pytest.raises(PaymentConflict) as raised:
        payment_process(data=replace(op, amount=1, document_number="OTHER"))

    assert raised.value.details["differing_fields"] == ["amount", "document_number"]
    assert Organization.objects.get(inn=INN).balance == 145000
    assert BalanceLog.objects.count() == 1
    assert any(r.levelname == "WARNING" and "conflict" in r.message for r in caplog.records)


def test_overflowing_credit_raises_and_records_nothing(ledger_unguarded):
    Organization.objects.create(inn=INN, balance=2**63 - 1)

    with pytest.raises(BalanceOverflow):
        payment_process(data=operation(amount=1))

    assert Payment.objects.count() == 0
    assert BalanceLog.objects.count() == 0
    assert Organization.objects.get(inn=INN).balance == 2**63 - 1


def test_advisory_key_is_a_stable_signed_64_bit_integer():
    key = advisory_key(uuid.UUID("ccf0a86d-041b-4991-bcf7-e2352f7b8a4a"))

    assert key == int.from_bytes(bytes.fromhex("ccf0a86d041b4991"), "big", signed=True)
    assert -(2**63) <= key < 2**63


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE balance_log SET delta = delta + 1",
        "DELETE FROM balance_log",
        "DELETE FROM payment",
        "UPDATE payment SET amount = amount + 1",
        "UPDATE payment SET status = 'pending', credited_at = NULL",
    ],
)
def test_money_rows_are_append_only_in_the_database(statement):
    payment_process(data=operation())

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_database_refuses_negative_balance_and_non_positive_amounts():
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(inn=INN, balance=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        payment_process(data=operation(amount=0))
