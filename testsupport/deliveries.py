"""Deliveries as the bank sends them and as the services take them, and ways to run them."""

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from django.db import connection

from payments.models import CREDIT_TASK
from payments.openapi import TASK_EXAMPLE
from payments.services.crediting import PaymentData, payment_credit, payment_process_async
from payments.webhook_signing import webhook_sign_headers

# The task's example payload, verbatim (the API docs show it too).
EXAMPLE = TASK_EXAMPLE


def payload(**overrides) -> dict:
    """A valid delivery with a fresh operation_id unless one is given."""
    return {**EXAMPLE, "operation_id": str(uuid.uuid4()), **overrides}


def signed(body: bytes, *, secret: str) -> dict[str, str]:
    """The headers of a JSON delivery of body signed now with secret (Standard Webhooks)."""
    headers = webhook_sign_headers(
        secret=secret, body=body, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time())
    )
    return {"content-type": "application/json", **headers}


def signed_json(delivery: dict, *, secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(delivery).encode()
    return body, signed(body, secret=secret)


# The organization of a service call's input (operation()).
SERVICE_INN = "7707083893"


def operation(**overrides) -> PaymentData:
    """A service's input (the PaymentData the webhook builds) for a fresh operation."""
    return PaymentData(
        **{
            "operation_id": uuid.uuid4(),
            "amount": 1000,
            "payer_inn": SERVICE_INN,
            "document_number": "PAY-1",
            "document_date": datetime(2024, 4, 27, 21, 0, tzinfo=timezone.utc),
            **overrides,
        }
    )


async def books(pool, inn: str = SERVICE_INN) -> tuple:
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


async def deliver_concurrently(pool, deliveries: list[PaymentData], *, connections: int = 25):
    """payment_process_async once per delivery, all at once, each in its own transaction on a
    pooled connection (connections of them, open before the first starts); the results, an
    exception in place of a delivery that raised."""
    await pool.resize(min_size=connections, max_size=connections)
    await pool.wait()
    return await asyncio.gather(
        *(payment_process_async(data=data) for data in deliveries), return_exceptions=True
    )


def run_concurrently(function, calls: list[dict]) -> list:
    """Call function once per kwargs dict, each in its own thread, all released at once."""
    barrier = threading.Barrier(len(calls))

    def call(kwargs: dict):
        try:
            barrier.wait(timeout=30)
            return function(**kwargs)
        except Exception as exc:  # returned, so the test can show which call failed and how
            return exc
        finally:
            connection.close()  # this thread's connection goes back to the pool

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, calls))


def credit_jobs_run() -> int:
    """Run every queued credit job here, in order, as a worker would; return how many ran."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (args->>'payment_id')::bigint FROM procrastinate_jobs"
            " WHERE task_name = %s AND status = 'todo' ORDER BY id",
            [CREDIT_TASK],
        )
        jobs = [row[0] for row in cursor.fetchall()]
        cursor.execute("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE status = 'todo'")
    for payment_id in jobs:
        payment_credit(payment_id=payment_id)
    return len(jobs)


def signing_snippet_run(snippet: str, *, secret: str) -> tuple[str, dict[str, str]]:
    """Run the API docs' signing snippet as printed, with secret in place of its placeholder:
    the body it prints first, and the headers on the lines after."""
    printed = subprocess.run(
        [sys.executable, "-c", snippet.replace("whsec_...", secret)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return printed[0], dict(line.split(": ", 1) for line in printed[1:])
