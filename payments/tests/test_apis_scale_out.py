"""Two independent server instances on one database, as behind a load balancer."""

import asyncio
from collections import Counter

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from payments.models import BalanceLog, Payment
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload
from testsupport.servers import uvicorn_server

pytestmark = [
    pytest.mark.processes,
    pytest.mark.django_db(transaction=True),
    pytest.mark.multi_instance,
]

COPIES = 6


@sync_to_async
def rows_per_operation(model, operation_field: str) -> Counter:
    try:
        return Counter(
            str(value) for value in model.objects.values_list(operation_field, flat=True)
        )
    finally:
        connection.close()


@pytest.fixture(scope="module")
def two_instances(django_db_setup):
    with uvicorn_server(workers=1) as first, uvicorn_server(workers=1) as second:
        yield first, second


async def test_duplicate_storm_split_across_two_instances_credits_each_operation_once(
    two_instances,
):
    """Copies of each operation reach both instances at once; balances are exact.

    The guarantee lives in PostgreSQL (advisory lock + unique operation_id), so it holds across
    processes that share nothing else. With a process-local lock around a check-then-insert
    instead, copies on the two instances both pass the check and the second INSERT is a 500.
    """
    inns = ["1111111111", "2222222222", "3333333333"]
    ops = [payload(payer_inn=inns[i % 3], amount=100 + i) for i in range(24)]
    # Waves of a few operations, so that each instance's queue holds the same operations at the
    # same moment; copy k of an operation goes to instance k % 2.
    waves = [ops[i : i + len(inns)] for i in range(0, len(ops), len(inns))]

    async with httpx.AsyncClient(timeout=30) as client:
        responses = []
        for wave in waves:
            responses += await asyncio.gather(
                *(
                    client.post(f"{two_instances[k % 2]}{WEBHOOK}", json=op)
                    for op in wave
                    for k in range(COPIES)
                )
            )
        balances = {}
        for url in two_instances:
            for inn in inns:
                response = await client.get(f"{url}/api/organizations/{inn}/balance/")
                balances[url, inn] = response.json()["balance"]

    assert len(responses) == len(ops) * COPIES
    assert Counter(r.status_code for r in responses) == {200: len(responses)}
    assert Counter(r.json()["status"] for r in responses) == {
        "credited": len(ops),
        "duplicate": len(ops) * (COPIES - 1),
    }
    for (_, inn), balance in balances.items():
        assert balance == sum(op["amount"] for op in ops if op["payer_inn"] == inn)
    expected = Counter({op["operation_id"]: 1 for op in ops})
    assert await rows_per_operation(Payment, "operation_id") == expected
    assert await rows_per_operation(BalanceLog, "payment__operation_id") == expected
