"""Keep-alive connections under load against a real uvicorn: every delivery gets an answer.

The soak lasts SOAK_SECONDS per mode (default 20; set it higher to soak for longer).
"""

import asyncio
import os
import random
import time
from collections import Counter

import httpx
import pytest

from testsupport.api import CLIENT_IDLE_REUSE_SECONDS, WEBHOOK
from testsupport.deliveries import payload
from testsupport.launch import process_stop
from testsupport.servers import WORKER_ENV, start_worker, uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "20"))


class Soak:
    """Lanes of keep-alive deliveries to one organization: busy lanes back to back, idle lanes
    pausing for about as long as the client keeps an idle connection (where a server that closes
    idle connections first races it). Each operation is delivered twice."""

    def __init__(self, url: str, inn: str) -> None:
        self.url = url
        self.inn = inn
        self.seen: Counter = Counter()
        self.ops: list[dict] = []

    async def lane(self, client: httpx.AsyncClient, deadline: float, *, idle: bool) -> None:
        rng = random.Random()
        while time.monotonic() < deadline:
            body = payload(payer_inn=self.inn, amount=rng.randint(1, 1000))
            self.ops.append(body)
            for _ in range(2):
                try:
                    response = await client.post(WEBHOOK, json=body)
                    self.seen[response.status_code] += 1
                    self.seen[response.json().get("status", "error")] += 1
                except httpx.TransportError as exc:
                    self.seen[type(exc).__name__] += 1
            pause = CLIENT_IDLE_REUSE_SECONDS * rng.uniform(0.8, 1.1) if idle else 0.01
            await asyncio.sleep(pause)

    async def run(self, *, lanes: int = 64, busy: int = 16) -> None:
        deadline = time.monotonic() + SOAK_SECONDS
        limits = httpx.Limits(max_connections=lanes, max_keepalive_connections=lanes)
        async with httpx.AsyncClient(base_url=self.url, timeout=30, limits=limits) as client:
            await asyncio.gather(
                *(self.lane(client, deadline, idle=i >= busy) for i in range(lanes))
            )

    async def balance(self) -> int:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await client.get(f"/api/organizations/{self.inn}/balance/")
            return response.json()["balance"]


@pytest.mark.parametrize("mode", ["sync", "background"])
async def test_soak_keep_alive_deliveries_all_answered_and_credited_once(mode):
    """64 concurrent keep-alive lanes for SOAK_SECONDS: no connection reset, no 5xx, and the
    organization's balance is exactly the sum of its operations."""
    inn = f"9{random.randrange(10**8, 10**9)}"
    worker = start_worker() if mode == "background" else None
    try:
        with uvicorn_server(WEBHOOK_PROCESSING=mode, **WORKER_ENV) as url:
            soak = Soak(url, inn)
            await soak.run()
            expected = sum(op["amount"] for op in soak.ops)
            deadline = time.monotonic() + 90
            while (balance := await soak.balance()) != expected:
                assert time.monotonic() < deadline, f"balance {balance}, expected {expected}"
                await asyncio.sleep(0.2)
    finally:
        if worker is not None:
            process_stop(worker)

    print(f"\nsoak {mode}, {SOAK_SECONDS:.0f} s: {len(soak.ops)} operations, {dict(soak.seen)}")
    first = "accepted" if mode == "background" else "credited"
    assert soak.seen == {200: 2 * len(soak.ops), first: len(soak.ops), "duplicate": len(soak.ops)}
