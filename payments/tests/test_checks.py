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

from core.checks import middleware_stand_ins_check, security_settings_check
from core.serve import uvicorn_args
from payments.checks import payments_settings_check
from payments.models import BalanceLog, Payment
from payments.webhook_signing import webhook_sign_headers
from testsupport.database import count_rows
from testsupport.deliveries import payload
from testsupport.launch import ROOT, free_port
from testsupport.servers import PRODUCTION_ENV

SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGUtYmFuay0zMi1ieXRlcyE="
TOKEN = "reader-0123456789abcdefghijklmnopqrstuvwxyz"

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


@pytest.fixture
def production(settings):
    """Safe production settings; each test then breaks one."""
    settings.DEBUG = False
    settings.SECRET_KEY = "x" * 20 + "production-secret-key-for-tests-only"
    settings.BANK_WEBHOOK_SECRETS = [SECRET]
    settings.API_TOKENS = [TOKEN]
    settings.METRICS_TOKEN = "metrics-" + TOKEN
    settings.ALLOWED_HOSTS = ["payments.example.com"]
    return settings


def error_ids() -> list[str]:
    return [message.id for message in [*security_settings_check(), *payments_settings_check()]]


def test_safe_production_settings_pass(production):
    assert error_ids() == []


@pytest.mark.parametrize(
    ("setting", "value", "error_id"),
    [
        ("SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production", "core.E001"),
        ("BANK_WEBHOOK_SECRETS", [], "payments.E002"),
        ("API_TOKENS", [], "payments.E003"),
        ("ALLOWED_HOSTS", ["*"], "core.E004"),
        ("ALLOWED_HOSTS", ["payments.example.com", "*"], "core.E004"),
        ("API_TOKENS", [TOKEN, "short"], "payments.E008"),
    ],
)
def test_each_unsafe_production_setting_is_an_error(production, setting, value, error_id):
    setattr(production, setting, value)

    assert error_ids() == [error_id]


@pytest.mark.parametrize(
    "secret",
    [
        "c2VjcmV0LWtleS1vZi10aGUtYmFuay0zMi1ieXRlcyE=",  # no whsec_ prefix
        "whsec_not base64",
        "whsec_" + "QUJD" * 5,  # 15 bytes: too short a key
    ],
)
@pytest.mark.parametrize("debug", [True, False])
def test_malformed_webhook_secret_is_an_error_in_any_mode(production, secret, debug):
    production.DEBUG = debug
    production.BANK_WEBHOOK_SECRETS = [SECRET, secret]

    assert error_ids() == ["payments.E005"]


@pytest.mark.parametrize(
    ("setting", "value", "error_id"),
    [
        ("WEBHOOK_TOLERANCE_SECONDS", 0, "payments.E006"),
        ("SECURE_PROXY_SSL_HEADER", ("HTTP_X_FORWARDED_PROTO",), "core.E007"),
    ],
)
def test_malformed_setting_is_an_error(production, setting, value, error_id):
    setattr(production, setting, value)

    assert error_ids() == [error_id]


def test_development_may_run_open(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"
    settings.BANK_WEBHOOK_SECRETS = []
    settings.API_TOKENS = []
    settings.ALLOWED_HOSTS = ["*"]

    assert error_ids() == []


@pytest.mark.parametrize(
    "stock", ["SecurityMiddleware", "CsrfViewMiddleware", "XFrameOptionsMiddleware"]
)
def test_silenced_stock_middleware_checks_still_fail_when_its_stand_in_is_missing(settings, stock):
    """security.W001-W003 are silenced because core.http.fastpath.middleware's subclasses
    replace the stock classes they look for; removing a subclass must still be an error."""
    assert middleware_stand_ins_check() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith(stock)]

    assert [message.id for message in middleware_stand_ins_check()] == ["core.E009"]


def test_manage_py_check_fails_on_unsafe_production_settings(production):
    production.BANK_WEBHOOK_SECRETS = []

    with pytest.raises(SystemCheckError, match=r"payments\.E002"):
        call_command("check")


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
            "/api/webhook/bank/", content=forged, headers={"content-type": "application/json"}
        )
        resigned_body = await client.post("/api/webhook/bank/", content=forged, headers=headers)
        garbage = await client.post(
            "/api/webhook/bank/", content=b"{", headers={"content-type": "application/json"}
        )
        huge = await client.post(
            "/api/webhook/bank/",
            content=b" " * (65 * 1024),
            headers={"content-type": "application/json"},
        )
        credited = await client.post("/api/webhook/bank/", content=body, headers=headers)
        replayed = await client.post("/api/webhook/bank/", content=body, headers=headers)
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
