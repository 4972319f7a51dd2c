"""payment_process_async, the server's hot path, on psycopg's async pool (core.db), one call at
a time; races on it are in test_races.py."""

import asyncio
from dataclasses import replace

import pytest

from core.db import db_pool_get
from payments.errors import BalanceOverflow, PaymentConflict
from payments.services import (
    PaymentOutcome,
    PaymentResult,
    payment_process_async,
    payment_receive,
)
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
