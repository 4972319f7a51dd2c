"""core.checks: a deployment that is unsafe whatever its apps refuses to start."""

import os
import subprocess
import sys

import pytest

from core.checks import middleware_stand_ins_check, security_settings_check
from core.serve import uvicorn_args
from testsupport.launch import ROOT, free_port
from testsupport.servers import PRODUCTION_ENV


def check_ids() -> list[str]:
    return [message.id for message in security_settings_check()]


def test_safe_production_settings_pass(production_settings):
    assert check_ids() == []


@pytest.mark.parametrize(
    ("setting", "value", "error_id"),
    [
        ("SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production", "core.E001"),
        ("ALLOWED_HOSTS", ["*"], "core.E004"),
        ("ALLOWED_HOSTS", ["payments.example.com", "*"], "core.E004"),
    ],
)
def test_each_unsafe_production_setting_is_an_error(production_settings, setting, value, error_id):
    setattr(production_settings, setting, value)

    assert check_ids() == [error_id]


def test_malformed_proxy_ssl_header_is_an_error(production_settings):
    production_settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO",)

    assert check_ids() == ["core.E007"]


def test_development_may_run_open(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"
    settings.BANK_WEBHOOK_SECRETS = []
    settings.API_TOKENS = []
    settings.ALLOWED_HOSTS = ["*"]

    assert check_ids() == []


@pytest.mark.parametrize(
    "stock", ["SecurityMiddleware", "CsrfViewMiddleware", "XFrameOptionsMiddleware"]
)
def test_silenced_stock_middleware_checks_still_fail_when_its_stand_in_is_missing(settings, stock):
    """security.W001-W003 are silenced because core.http.fastpath.middleware's subclasses
    replace the stock classes they look for; removing a subclass must still be an error."""
    assert middleware_stand_ins_check() == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith(stock)]

    assert [message.id for message in middleware_stand_ins_check()] == ["core.E009"]


@pytest.mark.processes
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
