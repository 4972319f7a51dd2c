"""`manage.py reconcile` names the statements' discrepancies and fails on them; /metrics counts
them."""

import datetime
import io
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command
from prometheus_client import REGISTRY

from payments.models import Payment
from payments.services.identity import bank_day
from statements import metrics
from statements.services import statement_import
from statements.tests.statements import line, statement
from statements.tests.test_services import webhook

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def test_a_conflict_fails_reconcile_and_is_named():
    operation_id = uuid.uuid4()
    webhook(operation_id=operation_id)
    statement_import(parsed=statement(line(operation_id=operation_id, amount=1)))
    out = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("reconcile", stdout=out)

    assert failed.value.returncode == 1
    assert "statement line line 10 of statement" in out.getvalue()
    assert f"conflict on amount (operation {operation_id}" in out.getvalue()
    assert "1 other problems" in str(failed.value)


def test_an_unconfirmed_credit_fails_reconcile_and_is_named():
    """A credit made now, and today's statement (made tomorrow) that does not list it."""
    credited = webhook()
    assert credited.outcome.value == "credited"
    payment = Payment.objects.get()
    today = bank_day(payment.credited_at)
    statement_import(
        parsed=statement(line(document_number="OTHER"), period=(today - DAY, today + DAY))
    )
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("reconcile", stdout=out)

    assert f"statement credit {payment.operation_id}: no statement confirms it" in out.getvalue()


def test_a_clean_import_passes_reconcile():
    webhook()
    statement_import(parsed=statement(line()))

    call_command("reconcile", stdout=io.StringIO())


def test_the_gauges_count_conflicts_and_unconfirmed_credits():
    operation_id = uuid.uuid4()
    webhook(operation_id=operation_id)
    statement_import(parsed=statement(line(operation_id=operation_id, amount=1)))

    async_to_sync(metrics.statement_discrepancies_sample)()

    assert REGISTRY.get_sample_value("statements_conflicts") == 1
    assert REGISTRY.get_sample_value("statements_unconfirmed_credits") == 0
