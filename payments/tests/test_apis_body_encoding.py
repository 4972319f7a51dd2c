"""Bodies that two JSON parsers could read differently, or that are not plain JSON at all: each
is refused with a 4xx naming the problem, and nothing is credited."""

import gzip
import json
import zlib

import pytest
from django.test import Client

from payments.tests.test_apis import assert_nothing_written, post
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return Client()


def _with_repeat(delivery: dict, key: str, value) -> bytes:
    """delivery as JSON text with key written a second time, after the first, with value."""
    text = json.dumps(delivery)
    return (text[:-1] + f", {json.dumps(key)}: {json.dumps(value)}}}").encode()


@pytest.mark.parametrize(
    ("key", "value"),
    [("amount", 200), ("operation_id", "3fa85f64-5717-4562-b3fc-2c963f66afa6"), ("extra", 1)],
)
def test_repeated_top_level_key_is_400_naming_it(client, key, value):
    body = _with_repeat({**payload(), "extra": 0}, key, value)

    response = post(client, body, raw=True)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert list(error["fields"]) == [key]
    assert_nothing_written()


def test_repeated_nested_key_is_400_naming_it(client):
    body = json.dumps({**payload(), "meta": [{"note": {"x": 1}}]}).encode()
    body = body.replace(b'{"x": 1}', b'{"x": 1, "x": 2}')

    response = post(client, body, raw=True)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["x"]
    assert_nothing_written()


@pytest.mark.parametrize(
    ("encoding", "compress"), [("gzip", gzip.compress), ("deflate", zlib.compress)]
)
def test_compressed_body_is_415(client, encoding, compress):
    body = compress(json.dumps(payload()).encode())

    response = client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_CONTENT_ENCODING=encoding
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert_nothing_written()


def test_identity_content_encoding_is_accepted(client):
    response = client.post(
        WEBHOOK,
        data=json.dumps(payload()),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="identity",
    )

    assert response.status_code == 200
