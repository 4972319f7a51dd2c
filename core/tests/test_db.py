"""core.db: the webhook's async pool opens with the server and closes with it."""

import asyncio

import pytest

from core.db import db_pool_get

pytestmark = pytest.mark.django_db(transaction=True)


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
