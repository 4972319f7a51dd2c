"""Logs: one JSON line per webhook delivery, and a request id on every line and response."""

import io
import json
import logging
import re

import pytest

from core.observability.logs import RequestIdFilter, json_formatter, plain_formatter
from testsupport.deliveries import payload

WEBHOOK = "/api/webhook/bank/"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")

# Each request's sync work runs on its own thread and connection, as under uvicorn.
in_database = pytest.mark.django_db(transaction=True)


@pytest.fixture
def json_lines():
    """What the production handler (LOG_FORMAT=json) writes, captured; call it to parse."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


def webhook_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "payments.webhook"]


@in_database
async def test_credited_delivery_writes_one_json_line_with_its_fields(asgi_client, json_lines):
    operation = payload(amount=5000)

    response = await asgi_client.post(
        WEBHOOK, json=operation, headers={"X-Request-ID": "bank-delivery-42"}
    )

    [line] = webhook_lines(json_lines())
    assert response.headers["X-Request-ID"] == "bank-delivery-42"
    assert {
        key: line[key]
        for key in (
            "level",
            "message",
            "request_id",
            "outcome",
            "status",
            "error_code",
            "operation_id",
            "payer_inn",
            "amount",
            "balance_after",
        )
    } == {
        "level": "INFO",
        "message": "webhook credited",
        "request_id": "bank-delivery-42",
        "outcome": "credited",
        "status": 200,
        "error_code": None,
        "operation_id": operation["operation_id"],
        "payer_inn": operation["payer_inn"],
        "amount": 5000,
        "balance_after": 5000,
    }
    assert isinstance(line["duration_ms"], float)
    assert isinstance(line["crediting_ms"], float)
    assert line["time"].endswith("+00:00")


@in_database
async def test_duplicate_line_has_no_balance_after(asgi_client, json_lines):
    operation = payload()
    await asgi_client.post(WEBHOOK, json=operation)

    await asgi_client.post(WEBHOOK, json=operation)

    first, again = webhook_lines(json_lines())
    assert (first["outcome"], first["balance_after"]) == ("credited", operation["amount"])
    assert (again["outcome"], again["balance_after"]) == ("duplicate", None)


@in_database
async def test_refused_delivery_line_names_the_error_code(asgi_client, json_lines):
    response = await asgi_client.post(WEBHOOK, json={**payload(), "amount": 1.5})

    [line] = webhook_lines(json_lines())
    assert response.status_code == 400
    assert (line["outcome"], line["status"], line["error_code"]) == (
        "invalid",
        400,
        "invalid_request",
    )
    assert line["operation_id"] is None
    assert line["request_id"] == response.headers["X-Request-ID"]


@in_database
async def test_every_line_of_a_request_carries_its_id(asgi_client, json_lines):
    """The service logs from its own thread; the id follows it there."""
    response = await asgi_client.post(WEBHOOK, json=payload(payer_inn="7707083893"))

    lines = json_lines()
    created = [line for line in lines if "organization created" in line["message"]]
    assert len(created) == 1
    assert created[0]["request_id"] == response.headers["X-Request-ID"]
    assert webhook_lines(lines)[0]["request_id"] == response.headers["X-Request-ID"]


async def test_request_id_is_generated_when_absent(asgi_client):
    first = await asgi_client.get("/healthz")
    second = await asgi_client.get("/healthz")

    assert GENERATED_ID.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize("unsafe", ["has spaces", "<script>", "x" * 129, "ünïcode", ""])
async def test_unsafe_request_id_is_replaced_by_a_generated_one(asgi_client, unsafe):
    response = await asgi_client.get("/healthz", headers={"X-Request-ID": unsafe.encode()})

    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/webhook/bank/", "{" + " " * (70 * 1024) + "}", 413),
        ("/api/webhook/bank/", "{", 400),
        ("/nowhere", "", 404),
    ],
)
async def test_error_responses_echo_the_request_id_too(asgi_client, path, body, status):
    response = await asgi_client.post(
        path,
        content=body,
        headers={"X-Request-ID": "req-7.a:b_c", "content-type": "application/json"},
    )

    assert response.status_code == status
    assert response.headers["X-Request-ID"] == "req-7.a:b_c"


async def test_body_too_large_is_logged_as_too_large(asgi_client, json_lines):
    await asgi_client.post(
        WEBHOOK, content="{" + " " * (70 * 1024) + "}", headers={"content-type": "application/json"}
    )

    [line] = webhook_lines(json_lines())
    assert (line["outcome"], line["status"], line["error_code"]) == (
        "too_large",
        413,
        "payload_too_large",
    )


def test_plain_format_puts_extra_fields_after_the_message():
    record = logging.makeLogRecord(
        {"name": "payments.webhook", "levelname": "INFO", "msg": "webhook credited"}
    )
    record.request_id = "abc"
    record.amount = 100
    record.balance_after = None

    line = plain_formatter().format(record)

    assert line.endswith(" INFO payments.webhook webhook credited request_id=abc amount=100")
