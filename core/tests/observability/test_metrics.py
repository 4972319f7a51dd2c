"""/metrics: Prometheus text with the pools' gauges, and in production only for its scraper.

The apps' own metrics (the webhook's counters) are tested with the apps.
"""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from testsupport.servers import PRODUCTION_ENV, uvicorn_server

METRICS_TOKEN = PRODUCTION_ENV["METRICS_TOKEN"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-0123456789abcdefghijklmnop", f"Basic {METRICS_TOKEN}", "Bearer"],
)
def test_production_metrics_without_the_token_is_401(production_server_url, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{production_server_url}/metrics", headers=headers, timeout=10)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="metrics"'
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "payments_" not in response.text


@pytest.mark.django_db(transaction=True)
def test_production_metrics_with_the_token_is_served(production_server_url):
    response = httpx.get(
        f"{production_server_url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    )

    assert response.status_code == 200
    assert "payments_db_pool_max_connections" in response.text


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_metrics_declared_internal_only_is_served_without_a_token():
    env = {**PRODUCTION_ENV, "METRICS_TOKEN": "", "METRICS_INTERNAL_ONLY": "1"}
    with uvicorn_server(workers=1, **env) as base:
        response = httpx.get(f"{base}/metrics", timeout=10)

    assert response.status_code == 200
    assert "payments_db_pool_max_connections" in response.text


@pytest.mark.django_db(transaction=True)
async def test_metrics_serve_prometheus_text_with_the_pool_gauges(asgi_client):
    response = await asgi_client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert {
        "payments_db_pool_connections",
        "payments_db_pool_idle_connections",
        "payments_db_pool_waiting_requests",
        "payments_db_pool_max_connections",
    } <= families.keys()
    pool_max = {
        s.labels["pool"]: s.value for s in families["payments_db_pool_max_connections"].samples
    }
    assert pool_max["django"] == 20  # DB_POOL_MAX_SIZE's default, one process here
