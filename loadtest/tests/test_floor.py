"""`make bench --floor`'s server: the service's Django ASGI handler alone, on its uvicorn
command line."""

import json
import subprocess
import sys
import urllib.request

import pytest

from loadtest.baseline import FloorService
from testsupport.launch import ROOT

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


def test_the_floor_runs_the_services_handler_not_djangos_stock_one():
    """Django's stock handler hops to a thread twice a delivery, which the service never does:
    a floor built on it would measure that cost too."""
    check = (
        "import loadtest.floor_app as floor\n"
        "from core.http.fastpath.handler import ASGIHandler\n"
        "assert type(floor.application) is ASGIHandler, type(floor.application)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
