"""Background mode: a database failure while enqueueing the credit job is a 503 the bank can
retry, like every other database failure, and leaves nothing behind."""

import httpx
import psycopg
import pytest

from payments.models import Payment
from testsupport.api import WEBHOOK
from testsupport.database import count_rows, test_database_url
from testsupport.deliveries import payload
from testsupport.servers import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.faults, pytest.mark.django_db(transaction=True)]


async def test_job_table_locked_past_lock_timeout_is_503_and_succeeds_once_released():
    """Another session holds procrastinate_jobs in SHARE mode (as a long manual job-table
    maintenance would), so the job's INSERT waits, and after lock_timeout PostgreSQL cancels it:
    a real LockNotAvailable, raised inside procrastinate's defer.
    """
    delivery = payload()
    with uvicorn_server(
        workers=1, WEBHOOK_PROCESSING="background", DB_LOCK_TIMEOUT_MS="300"
    ) as base:
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as client,
            await psycopg.AsyncConnection.connect(test_database_url()) as blocker,
        ):
            await blocker.execute("LOCK TABLE procrastinate_jobs IN SHARE MODE")
            refused = await client.post(WEBHOOK, json=delivery)
            recorded_while_locked = await count_rows(Payment)
            await blocker.rollback()
            retried = await client.post(WEBHOOK, json=delivery)

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert recorded_while_locked == 0
    assert (retried.status_code, retried.json()["status"]) == (200, "accepted")
    assert await count_rows(Payment) == 1
