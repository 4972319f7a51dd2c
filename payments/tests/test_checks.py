"""Production mode: unsafe settings refuse to start; safe ones start and lock everything down."""

import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from core.serve import uvicorn_args
from payments.checks import payments_settings_check
from payments.models import BalanceLog, Payment
from payments.webhook_signing import webhook_sign_headers
from testsupport.api import WEBHOOK
from testsupport.database import count_rows, test_database_url
from testsupport.deliveries import payload
from testsupport.fixtures import PRODUCTION_SETTINGS_SECRET, PRODUCTION_SETTINGS_TOKEN
from testsupport.launch import ROOT, free_port
from testsupport.servers import PRODUCTION_ENV, secret_files, uvicorn_server


def check_ids() -> list[str]:
    return [message.id for message in payments_settings_check()]


# The production configuration the README documents (TLS terminated in front of the service).
README_PRODUCTION_ENV = {
    **PRODUCTION_ENV,
    "ALLOWED_HOSTS": "payments.example.com",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


@pytest.mark.parametrize(
    ("setting", "value", "error_id"),
    [
        ("BANK_WEBHOOK_SECRETS", [], "payments.E002"),
        ("API_TOKENS", [], "payments.E003"),
        ("API_TOKENS", [PRODUCTION_SETTINGS_TOKEN, "short"], "payments.E008"),
    ],
)
def test_each_unsafe_production_setting_is_an_error(production_settings, setting, value, error_id):
    setattr(production_settings, setting, value)

    assert check_ids() == [error_id]


@pytest.mark.parametrize(
    "secret",
    [
        "c2VjcmV0LWtleS1vZi10aGUtYmFuay0zMi1ieXRlcyE=",  # no whsec_ prefix
        "whsec_not base64",
        "whsec_" + "QUJD" * 5,  # 15 bytes: too short a key
    ],
)
@pytest.mark.parametrize("debug", [True, False])
def test_malformed_webhook_secret_is_an_error_in_any_mode(production_settings, secret, debug):
    production_settings.DEBUG = debug
    production_settings.BANK_WEBHOOK_SECRETS = [PRODUCTION_SETTINGS_SECRET, secret]

    assert check_ids() == ["payments.E005"]


def test_a_webhook_tolerance_under_a_second_is_an_error(production_settings):
    production_settings.WEBHOOK_TOLERANCE_SECONDS = 0

    assert check_ids() == ["payments.E006"]


def test_manage_py_check_fails_on_unsafe_production_settings(production_settings):
    production_settings.BANK_WEBHOOK_SECRETS = []

    with pytest.raises(SystemCheckError, match=r"payments\.E002"):
        call_command("check")


@pytest.mark.processes
def test_uvicorn_refuses_to_start_in_production_without_secrets():
    """The real startup path: uvicorn never runs Django's checks itself, core/asgi.py does.

    Exit status 3 is uvicorn's "startup failure": with --workers its supervisor then stops
    instead of restarting the worker forever (checked by hand with 2 workers; one keeps this
    test fast, the supervisor waits ~5 s on its sibling's health check).
    """
    env = {**os.environ, "DEBUG": "0", "BANK_WEBHOOK_SECRETS": "", "API_TOKENS": ""}
    env.pop("SECRET_KEY", None)
    server = subprocess.run(
        [sys.executable, *uvicorn_args(port=free_port(), workers=1)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert server.returncode == 3
    for error_id in ("core.E001", "payments.E002", "payments.E003"):
        assert error_id in server.stderr
    assert "Refusing to start" in server.stderr


@pytest.mark.processes
def test_documented_production_configuration_passes_check_deploy():
    """`manage.py check --deploy` with the README's environment: not even a warning."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **README_PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


# --- End to end, production mode ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_production_server_credits_only_signed_deliveries_and_serves_only_tokens(
    production_server_url,
):
    secret = PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"]
    token = PRODUCTION_ENV["API_TOKENS"]
    body = json.dumps(payload()).encode()
    forged = json.dumps(payload(amount=10**9)).encode()
    headers = {
        "content-type": "application/json",
        **webhook_sign_headers(
            secret=secret, body=body, msg_id=f"msg_{uuid.uuid4()}", timestamp=int(time.time())
        ),
    }
    async with httpx.AsyncClient(base_url=production_server_url, timeout=30) as client:
        unsigned = await client.post(
            WEBHOOK, content=forged, headers={"content-type": "application/json"}
        )
        resigned_body = await client.post(WEBHOOK, content=forged, headers=headers)
        garbage = await client.post(
            WEBHOOK, content=b"{", headers={"content-type": "application/json"}
        )
        huge = await client.post(
            WEBHOOK,
            content=b" " * (65 * 1024),
            headers={"content-type": "application/json"},
        )
        credited = await client.post(WEBHOOK, content=body, headers=headers)
        replayed = await client.post(WEBHOOK, content=body, headers=headers)
        anonymous = await client.get("/api/organizations/1234567890/balance/")
        authorized = await client.get(
            "/api/organizations/1234567890/balance/",
            headers={"Authorization": f"Bearer {token}"},
        )

    assert [r.status_code for r in (unsigned, resigned_body, garbage)] == [401, 401, 401]
    assert [unsigned.json()["error"]["reason"], resigned_body.json()["error"]["reason"]] == [
        "missing_headers",
        "no_matching_signature",
    ]
    assert huge.status_code == 413
    assert [credited.json()["status"], replayed.json()["status"]] == ["credited", "duplicate"]
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="payments"'
    assert authorized.json() == {"inn": "1234567890", "balance": 145000}
    assert authorized.headers["x-content-type-options"] == "nosniff"
    assert await count_rows(Payment) == 1
    assert await count_rows(BalanceLog) == 1


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
async def test_production_server_runs_on_secrets_from_files(tmp_path):
    values = {
        name: PRODUCTION_ENV[name]
        for name in ("SECRET_KEY", "BANK_WEBHOOK_SECRETS", "API_TOKENS", "METRICS_TOKEN")
    }
    env = {
        **PRODUCTION_ENV,
        **secret_files(tmp_path, {**values, "DATABASE_URL": test_database_url()}),
    }
    body = json.dumps(payload()).encode()
    headers = {
        "content-type": "application/json",
        **webhook_sign_headers(
            secret=values["BANK_WEBHOOK_SECRETS"],
            body=body,
            msg_id=f"msg_{uuid.uuid4()}",
            timestamp=int(time.time()),
        ),
    }
    with uvicorn_server(workers=1, **env) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            credited = await client.post(WEBHOOK, content=body, headers=headers)
            metrics = await client.get(
                "/metrics", headers={"Authorization": f"Bearer {values['METRICS_TOKEN']}"}
            )
            balance = await client.get(
                f"/api/organizations/{payload()['payer_inn']}/balance/",
                headers={"Authorization": f"Bearer {values['API_TOKENS']}"},
            )

    assert (credited.status_code, credited.json()["status"]) == (200, "credited")
    assert metrics.status_code == 200
    assert balance.status_code == 200
