"""Any interleaving of webhooks (with redeliveries) and statement imports (1C-like lines with
no operation id, camt-like lines with one, overlapping files, the same file twice) over the same
payments ends with each payment credited exactly once and every balance equal to its log."""

import datetime
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import BalanceLog, Organization, Payment
from payments.reconciliation import reconciliation_report
from payments.services.crediting import PaymentData, payment_process
from statements.models import StatementLine
from statements.services import statement_import
from statements.tests.statements import line, statement

pytestmark = pytest.mark.django_db

INNS = ["7707083893", "500100732259"]
DAY = datetime.date(2024, 4, 28)
INSTANT = datetime.datetime(2024, 4, 27, 21, 0, tzinfo=datetime.UTC)  # DAY in Moscow


@dataclass(frozen=True)
class RealPayment:
    """What the bank did: several may share an identity (same payer, number, day, amount)."""

    operation_id: uuid.UUID
    payer_inn: str
    document_number: str
    amount: int

    @property
    def identity(self) -> tuple:
        return (self.payer_inn, self.document_number, self.amount)


@st.composite
def histories(draw):
    """The bank's payments, and the order in which their webhooks and statements arrive."""
    payments = [
        RealPayment(
            uuid.uuid4(),
            draw(st.sampled_from(INNS)),
            draw(st.sampled_from(["PAY-1", "PAY-2"])),
            draw(st.sampled_from([100, 250])),
        )
        for _ in range(draw(st.integers(1, 6)))
    ]
    # Every payment's webhook arrives at least once (1-3 times); a few statements, each listing
    # some of the payments, in 1C style (no ids) or camt style (ids); some imported twice.
    events = [("webhook", p) for p in payments for _ in range(draw(st.integers(1, 3)))]
    for _ in range(draw(st.integers(0, 4))):
        listed = draw(st.lists(st.sampled_from(payments), unique=True, min_size=1))
        parsed = statement(
            *(
                line(
                    amount=p.amount,
                    payer_inn=p.payer_inn,
                    document_number=p.document_number,
                    operation_id=p.operation_id if draw(st.booleans()) else None,
                )
                for p in listed
            )
        )
        events += [("statement", parsed)] * draw(st.integers(1, 2))
    return payments, draw(st.permutations(events))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_any_interleaving_of_both_channels_credits_each_payment_once(history):
    payments, events = history
    with transaction.atomic():  # each example starts from the test's empty tables
        for kind, event in events:
            if kind == "webhook":
                payment_process(
                    data=PaymentData(
                        operation_id=event.operation_id,
                        amount=event.amount,
                        payer_inn=event.payer_inn,
                        document_number=event.document_number,
                        document_date=INSTANT,
                    )
                )
            else:
                statement_import(parsed=event)

        # Each payment of the bank is in the ledger once, under its own operation id.
        assert Payment.objects.count() == len(payments)
        assert set(Payment.objects.values_list("operation_id", flat=True)) == {
            p.operation_id for p in payments
        }
        assert BalanceLog.objects.count() == len(payments)
        expected = Counter()
        for p in payments:
            expected[p.payer_inn] += p.amount
        assert dict(Organization.objects.values_list("inn", "balance")) == dict(expected)
        assert reconciliation_report().ok
        assert not StatementLine.objects.filter(result="conflict").exists()
        transaction.set_rollback(True)
