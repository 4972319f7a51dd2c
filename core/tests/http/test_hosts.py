"""What a production server exposes: /metrics only to its scraper, nothing to an unknown Host.

Through a real uvicorn in production configuration (DEBUG=0), as deployed. Before: /metrics
answered 200 to anyone, and a request for any Host was processed (a signed delivery was
credited) because nothing on the API, health or metrics paths called request.get_host().
"""

import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from core.checks import security_settings_check
from core.serve import uvicorn_args
from payments.models import Payment
from payments.webhook_signing import webhook_sign_headers
from testsupport.database import count_rows
from testsupport.deliveries import payload
from testsupport.launch import ROOT, free_port
from testsupport.servers import PRODUCTION_ENV, uvicorn_server

METRICS_TOKEN = PRODUCTION_ENV["METRICS_TOKEN"]


def signed(body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        **webhook_sign_headers(
            secret=PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"],
            body=body,
            msg_id=f"msg_{uuid.uuid4()}",
            timestamp=int(time.time()),
        ),
    }


# --- /metrics -------------------------------------------------------------------------------------


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
    assert "payments_webhook_requests_total" in response.text


@pytest.mark.django_db(transaction=True)
def test_metrics_declared_internal_only_is_served_without_a_token():
    env = {**PRODUCTION_ENV, "METRICS_TOKEN": "", "METRICS_INTERNAL_ONLY": "1"}
    with uvicorn_server(workers=1, **env) as base:
        response = httpx.get(f"{base}/metrics", timeout=10)

    assert response.status_code == 200
    assert "payments_webhook_requests_total" in response.text


def test_production_server_refuses_to_start_with_metrics_neither_protected_nor_internal():
    env = {**os.environ, **PRODUCTION_ENV, "METRICS_TOKEN": "", "METRICS_INTERNAL_ONLY": "0"}
    server = subprocess.run(
        [sys.executable, *uvicorn_args(port=free_port(), workers=1)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert server.returncode == 3
    assert "core.E010" in server.stderr
    assert "Refusing to start" in server.stderr


def test_short_metrics_token_is_refused(settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = "short"

    assert "core.E011" in [message.id for message in security_settings_check()]


# --- Host -----------------------------------------------------------------------------------------

UNKNOWN_HOST = {"Host": "attacker.example"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/api/organizations/1234567890/balance/"),
        ("GET", "/api/docs/"),
        ("GET", "/admin/login/"),
        ("GET", "/no/such/path"),
        ("POST", "/no/such/path"),
    ],
)
def test_unknown_host_is_a_json_400_on_every_path(production_server_url, method, path):
    headers = {**UNKNOWN_HOST, "Authorization": f"Bearer {METRICS_TOKEN}"}
    response = httpx.request(method, f"{production_server_url}{path}", headers=headers, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "disallowed_host"


@pytest.mark.django_db(transaction=True)
async def test_signed_delivery_for_an_unknown_host_is_refused_and_credits_nothing(
    production_server_url,
):
    body = json.dumps(payload()).encode()
    async with httpx.AsyncClient(base_url=production_server_url, timeout=30) as client:
        refused = await client.post(
            "/api/webhook/bank/", content=body, headers={**signed(body), **UNKNOWN_HOST}
        )
        stored = await count_rows(Payment)
        accepted = await client.post("/api/webhook/bank/", content=body, headers=signed(body))

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "disallowed_host"
    assert stored == 0
    assert (accepted.status_code, accepted.json()["status"]) == (200, "credited")
