"""A webhook and a statement import of the same payments at the same moment: real threads, each
with its own database connection, so PostgreSQL runs them concurrently and only the services'
locks keep them apart. transaction=True: each side must commit for the other to see it.
"""

import datetime
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from random import Random

import pytest
from django.db import connection

from payments.models import Organization, Payment
from payments.outcomes import PaymentOutcome
from payments.reconciliation import reconciliation_report
from payments.services.crediting import PaymentData, payment_process
from statements.services import statement_import
from statements.tests.statements import line, statement

pytestmark = pytest.mark.django_db(transaction=True)

INN = "7707083893"
DAY = datetime.date(2024, 4, 28)
# Midnight of DAY in Moscow: the webhooks' document_date, whose bank day is DAY.
INSTANT = datetime.datetime(2024, 4, 27, 21, 0, tzinfo=datetime.UTC)
ROUNDS = 150


def in_own_connection(function):
    def run(*args):
        try:
            return function(*args)
        finally:
            connection.close()

    return run


def test_a_webhook_and_an_import_of_one_payment_at_once_credit_it_once():
    """150 rounds: a payment's webhook (a new operation id) and a one-line statement naming it
    (no operation id) at the same moment, one side delayed by a random few milliseconds so that
    the webhook lands before, in every step of, and after the import. Each payment is credited
    once, and the webhook's operation id names it whichever side credited it.

    Without the identity lock, both sides see no payment of an identity and both credit it.
    """
    Organization.objects.create(inn=INN)
    rounds = [f"RACE-{n}" for n in range(ROUNDS)]
    deliveries = {
        number: PaymentData(
            operation_id=uuid.uuid4(),
            amount=100,
            payer_inn=INN,
            document_number=number,
            document_date=INSTANT,
        )
        for number in rounds
    }
    # Either side may start first, by up to 30 ms: the webhook lands before, inside and after
    # each step of the import.
    random = Random(22)
    delays = {number: random.uniform(-0.03, 0.03) for number in rounds}
    start = threading.Barrier(2)

    @in_own_connection
    def deliver() -> list[PaymentOutcome]:
        outcomes = []
        for number in rounds:
            start.wait()
            time.sleep(max(delays[number], 0))
            outcomes.append(payment_process(data=deliveries[number]).outcome)
        return outcomes

    @in_own_connection
    def import_() -> list[str]:
        results = []
        for number in rounds:
            start.wait()
            time.sleep(max(-delays[number], 0))
            report = statement_import(parsed=statement(line(document_number=number, amount=100)))
            results.append("credited" if report.credited else "matched")
        return results

    with ThreadPoolExecutor(2) as pool:
        webhooks = pool.submit(deliver)
        imports = pool.submit(import_)
        outcomes, results = webhooks.result(), imports.result()

    assert Organization.objects.get(inn=INN).balance == ROUNDS * 100
    assert Payment.objects.count() == ROUNDS
    assert set(outcomes) <= {PaymentOutcome.CREDITED, PaymentOutcome.DUPLICATE}
    assert set(Payment.objects.values_list("operation_id", flat=True)) == {
        data.operation_id for data in deliveries.values()
    }
    assert reconciliation_report().ok
    # Both orders happened, so the race was run, not only one side's path.
    assert {"credited", "matched"} <= set(results)
