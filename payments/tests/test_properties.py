"""Generated inputs: properties that must hold for any sequence of deliveries, and no input
that makes the webhook answer 500."""

import json
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.errors import PaymentConflict
from payments.models import BalanceLog, Organization, Payment
from payments.services import PaymentOutcome, payment_process
from payments.tests.conftest import run_concurrently

INNS = ["1111111111", "2222222222", "333333333333"]  # new organizations, created by payment
BASE_DATE = datetime(2024, 4, 27, 21, 0, tzinfo=timezone.utc)

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def delivery_plans(draw) -> list[dict]:
    """A few operations, each delivered 1-4 times, some repeats with altered content."""
    deliveries = []
    for _ in range(draw(st.integers(1, 6))):
        original = {
            "operation_id": uuid.uuid4(),
            "amount": draw(st.integers(1, 10**6)),
            "payer_inn": draw(st.sampled_from(INNS)),
            "document_number": draw(st.sampled_from(["PAY-1", "PAY-2"])),
            "document_date": BASE_DATE + timedelta(seconds=draw(st.integers(0, 2))),
        }
        for _ in range(draw(st.integers(1, 4))):
            altered = draw(st.sampled_from([None, None, "amount", "payer_inn", "document_number"]))
            copy = dict(original)
            if altered == "amount":
                copy["amount"] += 1
            elif altered == "payer_inn":
                copy["payer_inn"] = INNS[(INNS.index(copy["payer_inn"]) + 1) % len(INNS)]
            elif altered == "document_number":
                copy["document_number"] += "-x"
            deliveries.append(copy)
    return draw(st.permutations(deliveries))


def deliver(delivery: dict):
    try:
        return payment_process(**delivery).outcome
    except PaymentConflict:
        return "conflict"


def assert_books_balance() -> None:
    """Each balance == sum of its recorded payments == sum of its log; one log row each."""
    for organization in Organization.objects.all():
        paid = Payment.objects.filter(organization=organization).aggregate(s=Sum("amount"))["s"]
        logged = BalanceLog.objects.filter(organization=organization).aggregate(s=Sum("delta"))["s"]
        assert organization.balance == (paid or 0) == (logged or 0)
    assert BalanceLog.objects.count() == Payment.objects.count()


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(plan=delivery_plans())
def test_any_sequence_of_deliveries_credits_each_first_recorded_operation_once(plan):
    with transaction.atomic():
        outcomes = [deliver(d) for d in plan]

        recorded: dict = {}
        expected_outcomes = []
        for d in plan:
            first = recorded.setdefault(d["operation_id"], d)
            if first is d:
                expected_outcomes.append(PaymentOutcome.CREDITED)
            else:
                expected_outcomes.append(PaymentOutcome.DUPLICATE if first == d else "conflict")
        assert outcomes == expected_outcomes
        expected = Counter()
        for d in recorded.values():
            expected[d["payer_inn"]] += d["amount"]
        assert {o.inn: o.balance for o in Organization.objects.all()} == dict(expected)
        assert_books_balance()
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=delivery_plans())
def test_any_interleaving_of_concurrent_deliveries_keeps_the_books_exact(plan):
    """The same plans, every delivery in its own thread at once: whichever copy of an operation
    wins is recorded once, every other copy is a duplicate or a conflict, and the books add up."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE balance_log, payment, organization CASCADE")

    outcomes = run_concurrently(deliver, [{"delivery": d} for d in plan])

    assert not [o for o in outcomes if isinstance(o, Exception)]
    operations = {d["operation_id"] for d in plan}
    assert outcomes.count(PaymentOutcome.CREDITED) == len(operations) == Payment.objects.count()
    for payment in Payment.objects.all():
        copies = [d for d in plan if d["operation_id"] == payment.operation_id]
        assert (payment.amount, payment.organization_id) in {
            (d["amount"], d["payer_inn"]) for d in copies
        }
    assert_books_balance()


# --- No input makes the webhook answer 500 --------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children)
    ),
    max_leaves=12,
)
plausible_fields = {
    "operation_id": st.uuids().map(str) | json_values,
    "amount": st.integers(min_value=-5, max_value=10**16) | json_values,
    "payer_inn": st.from_regex(r"\A[0-9]{9,13}\Z") | json_values,
    "document_number": st.text(max_size=70) | json_values,
    # Fixed offsets rather than st.timezones(), which needs a system tz database.
    "document_date": st.datetimes(
        timezones=st.builds(
            timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
        )
    ).map(lambda d: d.isoformat())
    | json_values,
}
bodies = (
    st.fixed_dictionaries({}, optional=plausible_fields).map(json.dumps).map(str.encode)
    | json_values.map(json.dumps).map(str.encode)
    | st.binary(max_size=200)
)

ALLOWED = {200, 400, 409, 422}


@pytest.mark.django_db
@FUZZ
@given(body=bodies)
def test_no_generated_body_makes_the_webhook_answer_500(body):
    with transaction.atomic():
        response = Client().post("/api/webhook/bank/", data=body, content_type="application/json")
        transaction.set_rollback(True)

    assert response.status_code in ALLOWED, (response.status_code, body)
    assert response["Content-Type"] == "application/json"
    json.loads(response.content)
