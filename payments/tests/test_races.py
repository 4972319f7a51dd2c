"""Races with real concurrency: OS threads, each with its own PostgreSQL connection.

Every thread waits on a barrier, so the calls hit the database together. transaction=True is
needed: each thread's transaction must really commit for the others to see it.
"""

from collections import Counter

import pytest
from django.db.models import Sum

from payments.models import BalanceLog, Organization, Payment
from payments.services import PaymentOutcome, payment_process
from payments.tests.conftest import SERVICE_INN, operation, run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

INN = SERVICE_INN


def run_simultaneously(calls: list[dict]) -> list:
    """payment_process once per kwargs dict, all released at the same instant; the outcomes."""
    return [
        r if isinstance(r, Exception) else r.outcome
        for r in run_concurrently(payment_process, calls)
    ]


def test_simultaneous_deliveries_of_one_operation_credit_once():
    """25 simultaneous deliveries of one operation: one credit, one payment, one log row.

    Seen failing without the protection: with the ON CONFLICT insert replaced by
    "INSERT ... WHERE NOT EXISTS" and both the advisory lock and the unique index removed, runs
    credited the operation 2 or 3 times out of 25.
    """
    Organization.objects.create(inn=INN)
    op = operation()

    outcomes = run_simultaneously([op] * 25)

    assert Counter(outcomes) == {PaymentOutcome.CREDITED: 1, PaymentOutcome.DUPLICATE: 24}
    assert Organization.objects.get(inn=INN).balance == 1000
    assert Payment.objects.count() == 1
    assert BalanceLog.objects.count() == 1


def test_simultaneous_distinct_operations_for_one_organization_sum_exactly():
    """120 different operations for one organization at once: balance is the exact sum.

    Seen failing without the protection: with the SQL increment replaced by reading the balance
    into Python and saving balance + amount, the balance ended at 893 instead of 7260.
    """
    Organization.objects.create(inn=INN)
    calls = [operation(amount=amount) for amount in range(1, 121)]

    outcomes = run_simultaneously(calls)

    assert outcomes == [PaymentOutcome.CREDITED] * 120
    assert Organization.objects.get(inn=INN).balance == sum(range(1, 121))
    assert BalanceLog.objects.count() == 120
    # Every log row's balance_after is distinct: the credits were applied one after another.
    assert BalanceLog.objects.values("balance_after").distinct().count() == 120


def test_simultaneous_first_payments_for_a_new_inn_create_one_organization():
    """30 first payments for an INN nobody has seen: one organization, the exact sum.

    Seen failing without the protection: with the organization created by "SELECT, then INSERT
    if absent" instead of INSERT ... ON CONFLICT DO NOTHING, concurrent callers hit the unique
    index and 500ed (IntegrityError), losing those credits.
    """
    new_inn = "500100732259"
    calls = [operation(payer_inn=new_inn, amount=10) for _ in range(30)]

    outcomes = run_simultaneously(calls)

    assert outcomes == [PaymentOutcome.CREDITED] * 30
    assert Organization.objects.filter(inn=new_inn).count() == 1
    assert Organization.objects.get(inn=new_inn).balance == 300


def test_duplicate_storm_over_many_operations_credits_each_once():
    """40 operations x 4 copies, all at once, over 3 organizations: every balance is exact."""
    inns = ["1111111111", "2222222222", "3333333333"]
    ops = [operation(payer_inn=inns[i % 3], amount=100 + i) for i in range(40)]
    calls = [op for op in ops for _ in range(4)]

    outcomes = run_simultaneously(calls)

    assert Counter(outcomes) == {PaymentOutcome.CREDITED: 40, PaymentOutcome.DUPLICATE: 120}
    for inn in inns:
        expected = sum(op["amount"] for op in ops if op["payer_inn"] == inn)
        assert Organization.objects.get(inn=inn).balance == expected
        logged = BalanceLog.objects.filter(organization__inn=inn).aggregate(s=Sum("delta"))["s"]
        assert logged == expected
