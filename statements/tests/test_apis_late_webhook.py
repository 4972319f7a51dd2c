"""A webhook that comes after the statement credited its payment, through a real uvicorn: the
bank is answered `200 duplicate`, and the operation is found by the id it sent."""

import datetime
import uuid

import httpx
import pytest
from asgiref.sync import sync_to_async

from statements.services import statement_import
from statements.tests.statements import line, statement
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


async def test_a_late_webhook_is_a_duplicate_and_its_operation_is_found(live_server_url):
    number = f"LATE-{uuid.uuid4().hex[:8]}"
    parsed = statement(
        line(
            payer_inn="1234567890", document_number=number, document_date=datetime.date(2024, 4, 28)
        )
    )
    report = await sync_to_async(statement_import)(parsed=parsed)
    assert len(report.credited) == 1
    late = payload(document_number=number)  # the task's example: the document of 28.04

    async with httpx.AsyncClient(base_url=live_server_url, timeout=30) as client:
        answer = await client.post(WEBHOOK, json=late)
        again = await client.post(WEBHOOK, json=late)
        found = await client.get(f"/api/operations/{late['operation_id']}/")

    assert (answer.status_code, answer.json()["status"]) == (200, "duplicate")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert found.status_code == 200
    assert found.json()["operation_id"] == late["operation_id"]
    assert found.json()["amount"] == 145000
