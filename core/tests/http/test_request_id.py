"""Every request and response carries a request id: the caller's if it is sane, else a new one."""

import re

import pytest

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


async def test_request_id_is_generated_when_absent(asgi_client):
    first = await asgi_client.get("/healthz")
    second = await asgi_client.get("/healthz")

    assert GENERATED_ID.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("unsafe", ["has spaces", "<script>", "x" * 129, "ünïcode", ""])
async def test_unsafe_request_id_is_replaced_by_a_generated_one(asgi_client, unsafe):
    response = await asgi_client.get("/healthz", headers={"X-Request-ID": unsafe.encode()})

    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])
