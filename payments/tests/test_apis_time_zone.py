"""Identity does not depend on the database's time zone.

A DBA may give the database a local default (`ALTER DATABASE ... SET timezone`, here
Europe/Berlin, whose autumn hour 02:00-03:00 happens twice). These tests set exactly that on the
test database, a real PostgreSQL setting that every new session picks up, and reset it after.
"""

from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import psycopg
import pytest
from django.db import connection
from psycopg import sql

from core.db import db_pool_close, db_pool_open
from payments.outcomes import PaymentOutcome
from payments.services.crediting import payment_process_steps
from payments.services.sql_steps import steps_transaction_async
from testsupport.api import WEBHOOK
from testsupport.database import test_database_url
from testsupport.deliveries import operation, payload
from testsupport.servers import uvicorn_server

pytestmark = pytest.mark.django_db(transaction=True)


# The first of Berlin's two 02:30s on 2024-10-27 (CEST, +02:00); the second is 01:30Z.
REPEATED_HOUR = "2024-10-27T00:30:00Z"
# The last half hour Python can represent in UTC is past year 9999 in Berlin.
END_OF_TIME = "9999-12-31T23:30:00Z"


@pytest.fixture
def berlin_database(django_db_setup) -> Iterator[str]:
    """The test database with `timezone = 'Europe/Berlin'` for every new session."""
    name = sql.Identifier(connection.settings_dict["NAME"])
    with psycopg.connect(test_database_url(owner=True), autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} SET timezone TO 'Europe/Berlin'").format(name))
        try:
            with psycopg.connect(test_database_url()) as probe:
                assert probe.info.parameter_status("TimeZone") == "Europe/Berlin"
            yield test_database_url()
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} RESET timezone").format(name))


@pytest.mark.processes
@pytest.mark.parametrize("mode", ["sync", "background"])
async def test_redelivery_is_a_duplicate_whatever_the_database_time_zone(berlin_database, mode):
    deliveries = [payload(document_date=date) for date in (REPEATED_HOUR, END_OF_TIME)]
    with uvicorn_server(workers=1, WEBHOOK_PROCESSING=mode) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            answers = [
                (await client.post(WEBHOOK, json=delivery)).status_code
                for delivery in deliveries
                for _ in range(2)
            ]
            redelivered = await client.post(WEBHOOK, json=deliveries[0])

    assert answers == [200, 200, 200, 200]
    assert redelivered.json()["status"] == "duplicate"


@pytest.mark.processes
async def test_other_instant_in_the_repeated_hour_is_still_a_conflict(berlin_database):
    """02:30+02:00 and 02:30+01:00 are one local time but two instants: not the same delivery."""
    first = payload(document_date="2024-10-27T02:30:00+02:00")
    with uvicorn_server(workers=1) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await client.post(WEBHOOK, json=first)
            other = await client.post(
                WEBHOOK, json={**first, "document_date": "2024-10-27T02:30:00+01:00"}
            )

    assert other.status_code == 409
    assert other.json()["error"]["differing_fields"] == ["document_date"]


async def test_webhook_pool_sessions_are_in_utc(berlin_database):
    pool = await db_pool_open()
    try:
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT current_setting('TimeZone')")
            session_zone = (await cursor.fetchone())[0]
    finally:
        await db_pool_close()

    assert session_zone == "UTC"


@pytest.mark.parametrize(
    "document_date",
    [
        datetime(2024, 10, 27, 0, 30, tzinfo=timezone.utc),
        datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc),
    ],
    ids=["repeated-hour", "end-of-time"],
)
async def test_identity_is_compared_as_instants_in_a_session_of_any_time_zone(
    berlin_database, document_date
):
    """The crediting transaction itself on a session left in Berlin time (the pool pins its
    sessions to UTC; this checks the comparison does not rely on it).
    """
    data = operation(document_date=document_date)
    async with await psycopg.AsyncConnection.connect(berlin_database, autocommit=True) as conn:
        outcomes = []
        for _ in range(2):
            result = await steps_transaction_async(payment_process_steps(data), conn)
            outcomes.append(result.outcome)

    assert outcomes == [PaymentOutcome.CREDITED, PaymentOutcome.DUPLICATE]
