"""payment_process_async, the server's hot path, on psycopg's async pool (core.db), one call at
a time; races on it are in test_races.py."""

from dataclasses import replace

import pytest

from core.db import db_pool_get
from core.prepared import _prepared_on
from payments.errors import BalanceOverflow, PaymentConflict
from payments.outcomes import PaymentOutcome
from payments.services.crediting import (
    PaymentResult,
    payment_process_async,
    payment_process_steps,
    payment_receive,
)
from payments.services.sql_steps import steps_transaction_async
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


async def _prepared_runs(conn) -> dict[str, int]:
    cursor = await conn.execute(
        "SELECT name, generic_plans + custom_plans FROM pg_prepared_statements"
    )
    return dict(await cursor.fetchall())


async def test_the_pools_connections_execute_the_prepared_statements(pool):
    """A pool connection EXECUTEs ENSURE_PAYER and RECORD_PAYMENT for each delivery, prepared
    once on it (core.prepared), rather than sending their text to be planned again."""
    async with pool.connection() as conn:
        before = await _prepared_runs(conn)
        for _ in range(3):
            await steps_transaction_async(payment_process_steps(operation()), conn)
        after = await _prepared_runs(conn)

    for name in ("payment_record", "payment_payer_ensure"):
        assert after[name] - before.get(name, 0) == 3


async def test_a_connection_whose_prepare_was_cut_short_still_serves(pool):
    """A request cancelled (its client gone) after PostgreSQL ran the PREPARE but before the
    connection was marked prepared: the next delivery on it is served, not refused for a
    statement that already exists."""
    async with pool.connection() as conn:
        await steps_transaction_async(payment_process_steps(operation()), conn)
        _prepared_on.discard(conn)  # what the cancellation left: prepared, not marked

        result = await steps_transaction_async(payment_process_steps(operation()), conn)

    assert result.outcome is PaymentOutcome.CREDITED
