"""Least privilege: servers and workers log in as the serving role and still credit exactly once;
`migrate` logs in as the owner; the production check names a role with too much power.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter

import httpx
import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command

from testsupport.api import WEBHOOK
from testsupport.database import serving_role_only, test_database_url
from testsupport.deliveries import payload
from testsupport.launch import ROOT, process_stop
from testsupport.servers import PRODUCTION_ENV, WORKER_ENV, start_worker, uvicorn_server

pytestmark = [pytest.mark.django_db(transaction=True), serving_role_only]

INN = "5555555555"


def books(inn: str) -> tuple[int, int, int]:
    """(balance, balance_log rows, credited payments) of one organization, read as the owner."""
    with psycopg.connect(test_database_url(owner=True)) as conn:
        return conn.execute(
            """
            SELECT o.balance,
                   (SELECT count(*) FROM balance_log l WHERE l.organization_id = o.id),
                   (SELECT count(*) FROM payment p
                    WHERE p.payer_inn = o.inn AND p.status = 'credited')
            FROM organization o WHERE o.inn = %s
            """,
            [inn],
        ).fetchone()


def server_roles() -> set[str]:
    """The roles of every other session on the test database (servers and workers)."""
    with psycopg.connect(test_database_url(owner=True)) as conn:
        rows = conn.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND usename <> current_user"
        ).fetchall()
    return {row[0] for row in rows}


async def deliver_three_times(base: str, ops: list[dict]) -> Counter:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post(WEBHOOK, json=op) for op in ops for _ in range(3))
        )
    assert {r.status_code for r in responses} == {200}
    return Counter(r.json()["status"] for r in responses)


@pytest.mark.processes
async def test_webhook_credits_exactly_once_as_the_serving_role():
    ops = [payload(payer_inn=INN, amount=100 + i) for i in range(10)]
    with uvicorn_server(workers=1) as base:
        statuses = await deliver_three_times(base, ops)
        roles = server_roles()

    assert statuses == {"credited": 10, "duplicate": 20}
    assert books(INN) == (sum(op["amount"] for op in ops), 10, 10)
    assert roles == {_serving_role()}


@pytest.mark.processes
async def test_background_mode_credits_exactly_once_as_the_serving_role():
    ops = [payload(payer_inn=INN, amount=200 + i) for i in range(10)]
    worker = start_worker()
    try:
        with uvicorn_server(workers=1, WEBHOOK_PROCESSING="background", **WORKER_ENV) as base:
            statuses = await deliver_three_times(base, ops)
            deadline = time.monotonic() + 60
            while books(INN)[2] < len(ops):
                assert time.monotonic() < deadline, f"stuck at {books(INN)}"
                await asyncio.sleep(0.2)
            roles = server_roles()
    finally:
        process_stop(worker)

    assert statuses == {"accepted": 10, "duplicate": 20}
    assert books(INN) == (sum(op["amount"] for op in ops), 10, 10)
    assert roles == {_serving_role()}


def _serving_role() -> str:
    return psycopg.conninfo.conninfo_to_dict(settings.DATABASE_URL)["user"]


def production_check(database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--database", "default"],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION_ENV, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.processes
def test_production_check_warns_when_the_serving_role_owns_the_tables():
    """DATABASE_URL set to the owner's URL (one role for everything): warned, not refused."""
    owner = production_check(test_database_url(owner=True))
    serving = production_check(test_database_url())

    assert owner.returncode == 0, owner.stderr
    assert "core.W002" in owner.stderr + owner.stdout
    assert "payments.W00" not in serving.stderr + serving.stdout


@pytest.mark.processes
def test_production_server_with_several_workers_checks_its_role_and_starts():
    """Each uvicorn worker process imports the app inside its event loop, where Django refuses
    synchronous database access: the role check first raised SynchronousOnlyOperation there and
    every worker died (seen with `make bench`; one worker imports it before the loop starts)."""
    with uvicorn_server(workers=2, **PRODUCTION_ENV) as base:
        response = httpx.get(f"{base}/readyz", timeout=10)

    assert response.status_code == 200


def test_db_roles_sql_prints_both_roles_and_the_grants(capsys):
    call_command("db_roles_sql")
    out = capsys.readouterr().out

    serving = _serving_role()
    assert f'CREATE ROLE "{serving}" LOGIN' in out
    assert "NOSUPERUSER NOCREATEDB NOCREATEROLE" in out
    assert f'GRANT SELECT, INSERT ON "balance_log" TO "{serving}";' in out
    assert (
        "GRANT SELECT, INSERT, UPDATE (status, credited_at, operation_id, operation_id_synthetic)"
        f' ON "payment" TO "{serving}"'
    ) in out
