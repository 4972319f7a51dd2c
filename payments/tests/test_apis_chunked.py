"""Deliveries streamed with `Transfer-Encoding: chunked` (no Content-Length), through a real
uvicorn: what Java, Go and Node HTTP clients send when they stream a body, and what a proxy
forwarding HTTP/2 sends."""

import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from payments.models import Payment
from payments.webhook_signing import webhook_sign_headers
from testsupport.api import WEBHOOK
from testsupport.database import count_rows
from testsupport.deliveries import payload
from testsupport.servers import PRODUCTION_ENV

pytestmark = pytest.mark.django_db(transaction=True)


async def chunked(body: bytes, *, size: int = 40) -> AsyncIterator[bytes]:
    """The body in several chunks: httpx sends an iterator of unknown length chunked."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def post_chunked(base_url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with httpx.AsyncClient(
        base_url=base_url, timeout=30, event_hooks={"request": [record]}
    ) as client:
        response = await client.post(
            WEBHOOK,
            content=chunked(body),
            headers={"content-type": "application/json", **headers},
        )
    # The request really went out chunked, with no length.
    assert sent[0].headers["transfer-encoding"] == "chunked"
    assert "content-length" not in sent[0].headers
    return response


async def test_unsigned_chunked_delivery_is_credited(live_server_url):
    delivery = payload(amount=4242)
    body = json.dumps(delivery).encode()

    first = await post_chunked(live_server_url, body, {})
    again = await post_chunked(live_server_url, body, {})

    assert (first.status_code, first.json()) == (
        200,
        {"operation_id": delivery["operation_id"], "status": "credited"},
    )
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert await count_rows(Payment) == 1


async def test_signed_chunked_delivery_is_credited(production_server_url):
    delivery = payload(amount=4343)
    body = json.dumps(delivery).encode()
    headers = webhook_sign_headers(
        secret=PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"],
        body=body,
        msg_id=f"msg_{uuid.uuid4()}",
        timestamp=int(time.time()),
    )

    response = await post_chunked(production_server_url, body, headers)

    assert (response.status_code, response.json()["status"]) == (200, "credited")
    assert await count_rows(Payment) == 1


async def test_oversized_chunked_delivery_is_413_and_records_nothing(live_server_url):
    # A valid delivery padded past the 64 KiB cap: only its size is wrong.
    body = json.dumps({**payload(), "padding": " " * (65 * 1024)}).encode()

    response = await post_chunked(live_server_url, body, {})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert await count_rows(Payment) == 0
