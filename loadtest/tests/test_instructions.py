"""`make bench-instructions` measures the production ASGI stack in-process: its loop must really
credit what it sends, or it would count the cost of an error page."""

import base64

import pytest

from loadtest.instructions import COPIES, _measure
from payments.models import BalanceLog, Payment
from testsupport.database import count_rows

SECRET = "whsec_" + base64.b64encode(b"instructions-test-secret-0123456").decode()


@pytest.mark.django_db(transaction=True)
async def test_the_measured_loop_credits_each_operation_once(settings):
    settings.BANK_WEBHOOK_SECRETS = [SECRET]

    assert await _measure(4, toggle_callgrind=False, warm_up=2) == 0

    assert await count_rows(Payment) == 6
    assert await count_rows(BalanceLog) == 6


@pytest.mark.django_db(transaction=True)
async def test_the_measured_loop_fails_when_deliveries_fail(settings, capsys):
    settings.BANK_WEBHOOK_SECRETS = [SECRET]
    settings.ALLOWED_HOSTS = ["payments.example.com"]  # every delivery is refused: 400

    assert await _measure(2, toggle_callgrind=False, warm_up=1) == 1

    assert f"{1 + 2 * COPIES} deliveries were not answered 200" in capsys.readouterr().err
