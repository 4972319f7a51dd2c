"""core.http.fastpath.handler: the ASGI handler that skips the per-request thread when a request ran
no sync code must still give back the connections of requests that did use the ORM."""

import httpx
import pytest

from testsupport.api import WEBHOOK
from testsupport.deliveries import payload
from testsupport.servers import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


async def test_orm_requests_give_their_connection_back_to_djangos_pool():
    """A worker whose Django pool holds 2 connections, with a 2 s wait: 40 balance reads (the
    ORM, in the request's thread) interleaved with 40 webhook deliveries (async pool, no thread)
    all succeed, so every read returned its connection.
    """
    env = {"DB_POOL_MIN_SIZE": "1", "DB_POOL_MAX_SIZE": "2", "DB_POOL_TIMEOUT_SECONDS": "2"}
    with uvicorn_server(workers=1, **env) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            statuses = []
            for _ in range(40):
                delivery = await client.post(WEBHOOK, json=payload())
                read = await client.get("/api/organizations/1234567890/balance/")
                statuses += [delivery.status_code, read.status_code]

    assert set(statuses) == {200}
