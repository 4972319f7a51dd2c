"""`make bench --floor`'s server: Django's ASGI handler alone, on the service's uvicorn command."""

import json
import urllib.request

import pytest

from loadtest.baseline import FloorService

pytestmark = pytest.mark.processes


def test_the_floor_answers_the_storms_requests_as_the_service_shapes_them():
    operation_id = "00000000-0000-4000-8000-000000000001"
    body = json.dumps({"operation_id": operation_id}).encode()
    with FloorService(workers=1) as floor:
        request = urllib.request.Request(
            floor.url + "/api/webhook/bank/",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            delivered = json.loads(answer.read())
        with urllib.request.urlopen(
            floor.url + "/api/organizations/7707083893/balance/", timeout=10
        ) as answer:
            balance = json.loads(answer.read())

    assert delivered == {
        "operation_id": "00000000-0000-4000-8000-000000000001",
        "status": "credited",
    }
    assert balance == {"inn": "7707083893", "balance": 0}
