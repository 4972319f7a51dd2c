"""payment_process_async, the server's hot path: the same contract as payment_process, on
psycopg's async pool (core.db) instead of Django's connection."""

import asyncio
from collections import Counter

import pytest

from core.db import db_pool_close, db_pool_get, db_pool_open
from payments.errors import BalanceOverflow, PaymentConflict
from payments.services import (
    PaymentOutcome,
    PaymentResult,
    payment_process_async,
    payment_receive,
)
from payments.tests.conftest import SERVICE_INN, operation

pytestmark = pytest.mark.django_db(transaction=True)

INN = SERVICE_INN


@pytest.fixture
async def pool():
    """The pool a server opens at startup, here for this test's event loop."""
    yield await db_pool_open()
    await db_pool_close()


async def books(pool, inn: str = INN) -> tuple:
    """(balance, payments, log rows, sum of log deltas) of one organization, straight from SQL."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """
            SELECT o.balance,
                   (SELECT count(*) FROM payment p WHERE p.payer_inn = o.inn),
                   (SELECT count(*) FROM balance_log l WHERE l.organization_id = o.id),
                   (SELECT coalesce(sum(delta), 0) FROM balance_log l
                    WHERE l.organization_id = o.id)
            FROM organization o WHERE o.inn = %s
            """,
            [inn],
        )
        return await cursor.fetchone()


async def test_credits_then_answers_duplicate(pool):
    op = operation()

    assert await payment_process_async(**op) == PaymentResult(PaymentOutcome.CREDITED, 1000)
    assert await payment_process_async(**op) == PaymentResult(PaymentOutcome.DUPLICATE)
    assert await books(pool) == (1000, 1, 1, 1000)


async def test_conflicting_repeat_raises_and_changes_nothing(pool):
    op = operation()
    await payment_process_async(**op)

    with pytest.raises(PaymentConflict) as raised:
        await payment_process_async(**{**op, "amount": 999, "document_number": "PAY-2"})

    assert raised.value.details["differing_fields"] == ["amount", "document_number"]
    assert await books(pool) == (1000, 1, 1, 1000)


async def test_overflowing_credit_raises_and_records_nothing(pool):
    await payment_process_async(**operation(amount=2**62))
    with pytest.raises(BalanceOverflow):
        await payment_process_async(**operation(amount=2**62))

    assert await books(pool) == (2**62, 1, 1, 2**62)


async def test_payment_receive_uses_the_pool_when_one_is_open(pool, settings):
    settings.WEBHOOK_PROCESSING = "sync"
    assert db_pool_get() is pool
    stats_before = pool.get_stats().get("requests_num", 0)

    result = await payment_receive(**operation())

    assert result.outcome is PaymentOutcome.CREDITED
    assert pool.get_stats()["requests_num"] == stats_before + 1


async def test_simultaneous_deliveries_over_separate_connections_credit_once(pool):
    """25 concurrent deliveries of each of 8 operations, each delivery in its own transaction
    on its own pooled connection (PostgreSQL runs them concurrently; nothing here serializes
    them but the service's lock and ON CONFLICT).

    Seen failing without the protection: with the advisory lock removed and ON CONFLICT DO
    NOTHING dropped from the insert, all but one delivery per operation ended in a
    UniqueViolation instead of DUPLICATE.
    """
    await pool.resize(min_size=2, max_size=25)
    ops = [operation(amount=amount) for amount in range(1, 9)]
    deliveries = [op for op in ops for _ in range(25)]

    results = await asyncio.gather(
        *(payment_process_async(**op) for op in deliveries), return_exceptions=True
    )

    outcomes = Counter(r if isinstance(r, Exception) else r.outcome for r in results)
    assert outcomes == {PaymentOutcome.CREDITED: 8, PaymentOutcome.DUPLICATE: 8 * 24}
    assert await books(pool) == (36, 8, 8, 36)


async def test_server_lifespan_opens_the_pool_at_startup_and_closes_it_at_shutdown():
    """core.db.db_lifespan, as uvicorn drives it (--lifespan on): the pool exists between
    startup and shutdown only, and other scopes reach the app untouched."""
    from core.db import db_lifespan

    seen_scopes = []

    async def app(scope, receive, send):
        seen_scopes.append(scope["type"])

    application = db_lifespan(app)
    inbox = asyncio.Queue()
    sent = []
    started = asyncio.Event()

    async def send(message):
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            started.set()

    server = asyncio.create_task(application({"type": "lifespan"}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    await asyncio.wait_for(started.wait(), timeout=10)
    pool = db_pool_get()
    assert pool is not None and not pool.closed

    await application({"type": "http"}, inbox.get, send)
    await inbox.put({"type": "lifespan.shutdown"})
    await server

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen_scopes == ["http"]
    assert db_pool_get() is None and pool.closed
