"""payment_process_async, the server's hot path, on psycopg's async pool (core.db), one call at
a time; races on it are in test_races.py."""

from dataclasses import replace

import pytest

from core.db import db_pool_get
from payments.errors import BalanceOverflow, PaymentConflict
from payments.outcomes import PaymentOutcome
from payments.services.crediting import PaymentResult, payment_process_async, payment_receive
from testsupport.deliveries import books, operation

pytestmark = pytest.mark.django_db(transaction=True)


async def test_credits_then_answers_duplicate(pool):
    op = operation()

    assert await payment_process_async(data=op) == PaymentResult(PaymentOutcome.CREDITED, 1000)
    assert await payment_process_async(data=op) == PaymentResult(PaymentOutcome.DUPLICATE)
    assert await books(pool) == (1000, 1, 1, 1000)


async def test_conflicting_repeat_raises_and_changes_nothing(pool):
    op = operation()
    await payment_process_async(data=op)

    with pytest.raises(PaymentConflict) as raised:
        await payment_process_async(data=replace(op, amount=999, document_number="PAY-2"))

    assert raised.value.details["differing_fields"] == ["amount", "document_number"]
    assert await books(pool) == (1000, 1, 1, 1000)


async def test_overflowing_credit_raises_and_records_nothing(pool):
    await payment_process_async(data=operation(amount=2**62))
    with pytest.raises(BalanceOverflow):
        await payment_process_async(data=operation(amount=2**62))

    assert await books(pool) == (2**62, 1, 1, 2**62)


async def test_payment_receive_uses_the_pool_when_one_is_open(pool, settings):
    settings.WEBHOOK_PROCESSING = "sync"
    assert db_pool_get() is pool
    stats_before = pool.get_stats().get("requests_num", 0)

    result = await payment_receive(data=operation())

    assert result.outcome is PaymentOutcome.CREDITED
    assert pool.get_stats()["requests_num"] == stats_before + 1
