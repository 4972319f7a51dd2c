"""Logs: one JSON line per webhook delivery, and a request id on every line and response."""

import asyncio
import io
import json
import logging

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.db import db_pool_close, db_pool_open
from core.observability.logs import RequestIdFilter, json_formatter
from payments.outcomes import WEBHOOK_OUTCOMES
from payments.webhook_observation import webhook_outcome
from testsupport.api import WEBHOOK
from testsupport.deliveries import payload

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


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (WEBHOOK, "{" + " " * (70 * 1024) + "}", 413),
        (WEBHOOK, "{", 400),
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


def outcome_counts() -> dict[str, float]:
    return {
        outcome: REGISTRY.get_sample_value("payments_webhook_requests_total", {"outcome": outcome})
        for outcome in WEBHOOK_OUTCOMES
    }


def credited_amount() -> float:
    return REGISTRY.get_sample_value("payments_credited_minor_units_total")


def crediting_count(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "payments_crediting_duration_seconds_count", {"outcome": outcome}
    )
    return value or 0.0


def moved(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


OPERATION = payload(amount=7300)


@in_database
@pytest.mark.parametrize(
    ("earlier", "delivery", "outcome"),
    [
        ([], json.dumps(payload()), "credited"),
        ([OPERATION], json.dumps(OPERATION), "duplicate"),
        ([OPERATION], json.dumps({**OPERATION, "amount": 7301}), "conflict"),
        ([], json.dumps({**payload(), "amount": "7300"}), "invalid"),
        ([], "{not json", "invalid"),
        ([], "{" + " " * (70 * 1024) + "}", "too_large"),
    ],
    ids=["credited", "duplicate", "conflict", "invalid", "malformed", "too_large"],
)
async def test_each_delivery_moves_exactly_its_outcome_counter_by_one(
    asgi_client, earlier, delivery, outcome
):
    outcome = "credited" if outcome == "credited" else outcome
    for body in earlier:
        await asgi_client.post(WEBHOOK, json=body)
    before = outcome_counts()

    await asgi_client.post(WEBHOOK, content=delivery, headers={"content-type": "application/json"})

    assert moved(before, outcome_counts()) == {outcome: 1}


@in_database
async def test_credit_adds_its_amount_and_one_crediting_latency_sample(asgi_client):
    amount_before, latency_before = credited_amount(), crediting_count("credited")

    response = await asgi_client.post(WEBHOOK, json=payload(amount=4321))

    assert response.status_code == 200
    assert credited_amount() - amount_before == 4321
    assert crediting_count("credited") - latency_before == 1


@in_database
async def test_duplicate_adds_no_amount_and_is_timed_under_its_own_outcome(asgi_client):
    operation = payload(amount=999)
    await asgi_client.post(WEBHOOK, json=operation)
    amount_before, latency_before = credited_amount(), crediting_count("duplicate")

    await asgi_client.post(WEBHOOK, json=operation)

    assert credited_amount() == amount_before
    assert crediting_count("duplicate") - latency_before == 1


@in_database
async def test_metrics_endpoint_serves_the_webhooks_metrics_with_every_outcome(asgi_client):
    """The pools' gauges beside them are core's (core/tests/observability/test_metrics.py)."""
    await asgi_client.post(WEBHOOK, json=payload())

    response = await asgi_client.get("/metrics")

    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert {
        "payments_webhook_requests",
        "payments_crediting_duration_seconds",
        "payments_credited_minor_units",
    } <= families.keys()
    outcomes = {s.labels["outcome"] for s in families["payments_webhook_requests"].samples}
    assert outcomes == set(WEBHOOK_OUTCOMES)


@in_database
async def test_webhook_pool_is_reported_beside_djangos_when_open(asgi_client):
    await db_pool_open()
    try:
        await asgi_client.post(WEBHOOK, json=payload())
        response = await asgi_client.get("/metrics")
    finally:
        await db_pool_close()

    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    connections = {
        s.labels["pool"]: s.value for s in families["payments_db_pool_connections"].samples
    }
    assert connections.keys() == {"django", "webhook"}
    assert connections["webhook"] >= 1


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, {"status": "credited"}, "credited"),
        (200, {"status": "duplicate"}, "duplicate"),
        (200, {"status": "something new"}, "error"),
        (409, {"error": {"code": "operation_conflict"}}, "conflict"),
        (400, {"error": {"code": "invalid_request"}}, "invalid"),
        (400, {"error": {"code": "malformed_json"}}, "invalid"),
        (405, {"error": {"code": "method_not_allowed"}}, "invalid"),
        (415, {"error": {"code": "unsupported_media_type"}}, "invalid"),
        (401, {"error": {"code": "invalid_signature"}}, "unauthorized"),
        (401, {}, "unauthorized"),
        (403, {"error": {"code": "permission_denied"}}, "unauthorized"),
        (413, {"error": {"code": "payload_too_large"}}, "too_large"),
        (422, {"error": {"code": "balance_overflow"}}, "overflow"),
        (503, {"error": {"code": "service_unavailable"}}, "unavailable"),
        (500, {"error": {"code": "server_error"}}, "error"),
        (None, {}, "error"),
    ],
)
def test_outcome_is_read_from_status_and_stable_error_code(status, body, outcome):
    assert webhook_outcome(status, body) == outcome


@in_database
async def test_counts_add_up_across_worker_processes(live_server_url):
    """A scrape answered by either of the 2 workers counts the deliveries both of them served."""
    operations = [payload(amount=100 + i) for i in range(12)]
    deliveries = [op for op in operations for _ in range(2)]

    def webhook_counts(text: str) -> dict[str, float]:
        families = {family.name: family for family in text_string_to_metric_families(text)}
        counts = {
            sample.labels["outcome"]: sample.value
            for sample in families["payments_webhook_requests"].samples
            if sample.name == "payments_webhook_requests_total"
        }
        [amount] = families["payments_credited_minor_units"].samples
        return {**counts, "amount": amount.value}

    limits = httpx.Limits(max_connections=len(deliveries))
    async with httpx.AsyncClient(base_url=live_server_url, limits=limits, timeout=30) as client:
        before = webhook_counts((await client.get("/metrics")).text)
        await asyncio.gather(*(client.post(WEBHOOK, json=body) for body in deliveries))
        after = webhook_counts((await client.get("/metrics")).text)

    assert moved(before, after) == {
        "credited": 12,
        "duplicate": 12,
        "amount": sum(op["amount"] for op in operations),
    }
