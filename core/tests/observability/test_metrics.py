"""/metrics: the counters move once per delivery, by outcome, across worker processes too."""

import asyncio
import json

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.db import db_pool_close, db_pool_open
from payments.metrics import WEBHOOK_OUTCOMES
from payments.webhook_observation import webhook_outcome
from testsupport.deliveries import payload

WEBHOOK = "/api/webhook/bank/"

# Each request's sync work runs on its own thread and connection, as under uvicorn.
in_database = pytest.mark.django_db(transaction=True)


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
async def test_metrics_endpoint_serves_prometheus_text_that_parses(asgi_client):
    await asgi_client.post(WEBHOOK, json=payload())

    response = await asgi_client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert {
        "payments_webhook_requests",
        "payments_crediting_duration_seconds",
        "payments_credited_minor_units",
        "payments_db_pool_connections",
        "payments_db_pool_idle_connections",
        "payments_db_pool_waiting_requests",
        "payments_db_pool_max_connections",
    } <= families.keys()
    outcomes = {s.labels["outcome"] for s in families["payments_webhook_requests"].samples}
    assert outcomes == set(WEBHOOK_OUTCOMES)
    # Django's pool (an earlier in-process test may have left the webhook pool's gauges).
    pool_max = {
        sample.labels["pool"]: sample.value
        for sample in families["payments_db_pool_max_connections"].samples
    }
    assert pool_max["django"] == 20  # DB_POOL_MAX_SIZE's default, one process here


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
    """A scrape answered by either of the 2 workers counts the deliveries both of them served.

    Seen failing without multiprocess mode (PROMETHEUS_MULTIPROC_DIR unset in the live server):
    each scrape showed only the answering worker's own counts, short of the totals.
    """
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
