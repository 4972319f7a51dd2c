"""A signed webhook delivery through the production ASGI stack never hands work to a thread
(core.http.fastpath keeps Django's and adrf's hops off its path)."""

import asyncio
import base64
import contextlib
import contextvars
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from asgiref.sync import SyncToAsync
from django.core import signals

from core.db import db_pool_close, db_pool_get, db_pool_open
from core.http.fastpath import handler
from payments.webhook_signing import webhook_sign_headers
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload

SECRET = "whsec_" + base64.b64encode(b"fastpath-test-secret-0123456789ab").decode()


def _name(function) -> str:
    owner = getattr(function, "__self__", None)
    if owner is not None and not isinstance(owner, type):  # a bound method: name its class
        kind = type(owner)
        return f"{kind.__module__}.{kind.__qualname__}.{function.__name__}"
    return f"{function.__module__}.{getattr(function, '__qualname__', repr(function))}"


@contextlib.contextmanager
def thread_hops() -> Iterator[list[str]]:
    """Record every hand-off to a worker thread while the block runs: each sync_to_async call,
    by the function it runs, and any other executor submission (asyncio.to_thread...)."""
    hops: list[str] = []
    sync_to_async_call = SyncToAsync.__call__
    run_in_executor = asyncio.BaseEventLoop.run_in_executor

    async def counted_call(self, *args, **kwargs):
        hops.append(f"sync_to_async({_name(self.func)})")
        return await sync_to_async_call(self, *args, **kwargs)

    def counted_run_in_executor(loop, executor, function, *args):
        target = getattr(function, "func", function)  # a functools.partial's function
        # asyncio.to_thread(f) submits partial(context.run, f)
        if isinstance(getattr(target, "__self__", None), contextvars.Context):
            target = function.args[0]
        if getattr(target, "__func__", None) is not SyncToAsync.thread_handler:  # counted above
            hops.append(f"run_in_executor({_name(target)})")
        return run_in_executor(loop, executor, function, *args)

    SyncToAsync.__call__ = counted_call
    asyncio.BaseEventLoop.run_in_executor = counted_run_in_executor
    try:
        yield hops
    finally:
        SyncToAsync.__call__ = sync_to_async_call
        asyncio.BaseEventLoop.run_in_executor = run_in_executor


def assert_no_thread_hops(hops: list[str]) -> None:
    from core.http.fastpath.handler import ASGIHandler

    receivers = {
        name: handler.receivers_not_inline(signal, ASGIHandler)
        for name, signal in (
            ("request_started", signals.request_started),
            ("request_finished", signals.request_finished),
        )
    }
    assert hops == [], (
        f"A webhook delivery handed work to a thread: {hops}. Receivers of the request signals "
        f"that are not Django's own (they make the handler send the signal in a thread): "
        f"{receivers}. Make the offender async and non-blocking, or keep it off this path."
    )


@contextlib.asynccontextmanager
async def production_stack(settings) -> AsyncIterator[httpx.AsyncClient]:
    """The production ASGI stack (core.http.stack) in this process, built from the current settings,
    with signed deliveries required and the webhook's async pool open, as a server's startup
    opens it."""
    settings.BANK_WEBHOOK_SECRETS = [SECRET]
    from core.http.stack import asgi_stack_build

    await db_pool_open()
    await db_pool_get().wait()  # its connections open now, not during a measured request
    transport = httpx.ASGITransport(app=asgi_stack_build())
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await deliver(client)  # first request: lazy imports, URL resolver caches
            yield client
    finally:
        await db_pool_close()


async def deliver(client: httpx.AsyncClient) -> httpx.Response:
    body = json.dumps(payload()).encode()
    headers = webhook_sign_headers(
        secret=SECRET, body=body, msg_id=uuid.uuid4().hex, timestamp=int(time.time())
    )
    response = await client.post(
        WEBHOOK, content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "credited"
    return response


@pytest.mark.django_db(transaction=True)
async def test_signed_webhook_delivery_hands_nothing_to_a_thread(settings):
    """The whole path a delivery takes (observability, body limit, Django's handler, every
    MIDDLEWARE entry, adrf view, signature check, crediting on the async pool) runs on the event
    loop. A database-touching permission would fail here too: inline, the ORM raises
    SynchronousOnlyOperation and the delivery is not answered 200.
    """
    await _deliver_counting_hops(settings)


@pytest.mark.django_db(transaction=True)
async def test_a_stock_sync_middleware_is_named_as_a_thread_hop(settings):
    """The guard names a sync middleware added to MIDDLEWARE (Django runs its hooks in a
    thread)."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.common.CommonMiddleware"]
    with pytest.raises(AssertionError, match=r"CommonMiddleware\.process_request"):
        await _deliver_counting_hops(settings)


def on_request_started(sender, **kwargs) -> None:
    """A sync receiver, as monitoring libraries connect."""


@pytest.mark.django_db(transaction=True)
async def test_a_sync_request_started_receiver_is_named_as_a_thread_hop(settings):
    """The guard names a sync receiver of request_started: the handler sends the signal as
    Django does, in the request's thread, so a blocking receiver never blocks the event loop.
    """
    signals.request_started.connect(on_request_started)
    try:
        with pytest.raises(AssertionError, match=r"test_apis_thread_hops\.on_request_started"):
            await _deliver_counting_hops(settings)
    finally:
        signals.request_started.disconnect(on_request_started)


@pytest.mark.django_db(transaction=True)
async def test_a_projects_request_started_receiver_still_receives_every_request(settings):
    """The handler leaves request_started unsent only when Django's own receivers are all it
    has; any other receiver gets it, with the request's scope."""
    received = []

    async def on_started(sender, scope, **kwargs) -> None:
        received.append(scope["path"])

    signals.request_started.connect(on_started)
    try:
        async with production_stack(settings) as client:  # its first delivery
            await deliver(client)
    finally:
        signals.request_started.disconnect(on_started)
    assert received == [WEBHOOK, WEBHOOK]


async def _deliver_counting_hops(settings) -> None:
    async with production_stack(settings) as client:
        with thread_hops() as hops:
            await deliver(client)
    assert_no_thread_hops(hops)
