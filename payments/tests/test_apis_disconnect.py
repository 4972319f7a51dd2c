"""A client that goes away after sending its delivery: not a server error, and no money lost
or doubled. Over raw sockets against a real uvicorn (2 workers, multiprocess metrics)."""

import json
import random
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from payments.tests.test_tasks import metric_value
from testsupport.api import BALANCE, WEBHOOK
from testsupport.deliveries import payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

REQUESTS = 'payments_webhook_requests_total{{outcome="{}"}}'


def _send_and_leave(url: str, delivery: dict, *, how: str) -> bytes:
    """Send a whole delivery, then half-close ("half-close") or close ("vanish") the socket;
    return what the server sent back before it closed."""
    parts = urlsplit(url)
    body = json.dumps(delivery).encode()
    request = (
        f"POST {WEBHOOK} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        if how == "vanish":
            return b""
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def _requests(url: str, outcome: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    try:
        return metric_value(text, REQUESTS.format(outcome))
    except ValueError:
        return 0.0


@pytest.mark.parametrize("how", ["half-close", "vanish"])
def test_client_leaving_after_its_delivery_is_an_outcome_of_its_own_and_credits_once(
    live_server_url, how
):
    inn = str(random.randrange(10**9, 10**10))
    deliveries = [payload(payer_inn=inn, amount=100 + i) for i in range(8)]
    errors_before = _requests(live_server_url, "error")
    left_before = _requests(live_server_url, "disconnected")

    for delivery in deliveries:
        _send_and_leave(live_server_url, delivery, how=how)
    # The bank retries what got no answer: each is credited now or was credited once already.
    with httpx.Client(base_url=live_server_url, timeout=10) as client:
        statuses = [client.post(WEBHOOK, json=d).json()["status"] for d in deliveries]
        balance = client.get(BALANCE.format(inn=inn)).json()["balance"]

    assert set(statuses) <= {"credited", "duplicate"}
    assert balance == sum(d["amount"] for d in deliveries)
    assert _requests(live_server_url, "error") == errors_before
    assert _requests(live_server_url, "disconnected") > left_before
