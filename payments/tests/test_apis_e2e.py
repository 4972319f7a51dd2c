"""End to end: a real uvicorn with 2 worker processes, hit by parallel HTTP requests."""

import asyncio
import json
import uuid
from collections import Counter

import httpx
import pytest

from payments.models import BalanceLog, Organization, Payment
from testsupport.api import WEBHOOK
from testsupport.database import count_rows
from testsupport.deliveries import EXAMPLE, payload
from testsupport.deliveries import signed as signed_headers
from testsupport.servers import PRODUCTION_SECRET

pytestmark = pytest.mark.django_db(transaction=True)


async def test_task_example_is_credited_then_duplicate_and_balance_is_served(live_server_url):
    async with httpx.AsyncClient(base_url=live_server_url) as client:
        first = await client.post(WEBHOOK, json=EXAMPLE)
        again = await client.post(WEBHOOK, json=EXAMPLE)
        balance = await client.get("/api/organizations/1234567890/balance/")

    assert (first.status_code, first.json()["status"]) == (200, "credited")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert balance.json() == {"inn": "1234567890", "balance": 145000}


async def test_parallel_duplicate_storm_over_http_credits_each_operation_once(live_server_url):
    """20 operations x 8 copies, all in flight together across both workers: balances exact.

    Without the advisory lock and unique index, copies of one operation are credited twice.
    """
    inns = ["1111111111", "2222222222"]
    ops = [payload(payer_inn=inns[i % 2], amount=1000 + i) for i in range(20)]
    deliveries = [op for op in ops for _ in range(8)]

    limits = httpx.Limits(max_connections=len(deliveries))
    async with httpx.AsyncClient(base_url=live_server_url, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(*(client.post(WEBHOOK, json=body) for body in deliveries))
        balances = {
            inn: (await client.get(f"/api/organizations/{inn}/balance/")).json()["balance"]
            for inn in inns
        }

    assert Counter(r.status_code for r in responses) == {200: len(deliveries)}
    assert Counter(r.json()["status"] for r in responses) == {"credited": 20, "duplicate": 140}
    for inn in inns:
        assert balances[inn] == sum(op["amount"] for op in ops if op["payer_inn"] == inn)
    assert await count_rows(Payment) == 20
    assert await count_rows(BalanceLog) == 20


async def test_oversized_body_is_413_and_server_stays_healthy(live_server_url):
    async with httpx.AsyncClient(base_url=live_server_url) as client:
        declared = await client.post(
            WEBHOOK,
            content=b"{" + b" " * (64 * 1024) + b"}",
            headers={"content-type": "application/json"},
        )

        async def chunks():
            for _ in range(100):
                yield b" " * 1024

        streamed = await client.post(
            WEBHOOK, content=chunks(), headers={"content-type": "application/json"}
        )
        after = await client.post(WEBHOOK, json=payload())

    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"
    assert streamed.status_code == 413
    assert after.status_code == 200
    assert await count_rows(Organization) == 1


async def test_no_client_input_yields_a_500(live_server_url):
    bodies = [
        b"",
        b"{",
        b"\x00\x01",
        b'{"operation_id": "' + str(uuid.uuid4()).encode() + b'", "amount": 1e400}',
        b'{"amount": 99999999999999999999999999999999}',
        b'{"document_date": "9999-12-31T23:59:59-23:59"}',
        b'{"payer_inn": {"nested": [1, 2]}}',
        b"[" * 5000 + b"]" * 5000,
    ]
    async with httpx.AsyncClient(base_url=live_server_url) as client:
        responses = [
            await client.post(WEBHOOK, content=body, headers={"content-type": "application/json"})
            for body in bodies
        ]

    assert [r.status_code for r in responses] == [400] * len(bodies)
    assert all(r.headers["content-type"] == "application/json" for r in responses)


def signed(body: bytes) -> dict[str, str]:
    return signed_headers(body, secret=PRODUCTION_SECRET)


@pytest.mark.django_db(transaction=True)
async def test_signed_delivery_for_an_unknown_host_is_refused_and_credits_nothing(
    production_server_url,
):
    body = json.dumps(payload()).encode()
    async with httpx.AsyncClient(base_url=production_server_url, timeout=30) as client:
        refused = await client.post(
            WEBHOOK, content=body, headers={**signed(body), "Host": "attacker.example"}
        )
        stored = await count_rows(Payment)
        accepted = await client.post(WEBHOOK, content=body, headers=signed(body))

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "disallowed_host"
    assert stored == 0
    assert (accepted.status_code, accepted.json()["status"]) == (200, "credited")
