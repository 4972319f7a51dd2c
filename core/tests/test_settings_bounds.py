"""Every variable the settings read is validated at startup: a bad value is one line naming the
variable and what it accepts, from every entry point (docs/configuration.md, "Validation")."""

import os
import runpy
import subprocess
import sys
import warnings

import pytest

from core.errors import SettingError
from core.settings import env
from testsupport.launch import ROOT, free_port

PRODUCTION = {"DEBUG": "0"}
MISSING_FILE = "/nonexistent/secret"

# (variable, the environment that sets it wrong). Several cases may name one variable.
REFUSED = [
    ("DEBUG", {"DEBUG": "maybe"}),
    ("SECRET_KEY", {**PRODUCTION, "SECRET_KEY": "abc"}),
    ("SECRET_KEY", {**PRODUCTION, "SECRET_KEY": "ab" * 30}),
    ("SECRET_KEY", {**PRODUCTION, "SECRET_KEY": "django-insecure-" + "x1y2z3w4v5" * 5}),
    ("SECRET_KEY_FILE", {"SECRET_KEY_FILE": MISSING_FILE}),
    ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": ".com"}),
    ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": ""}),
    ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": ","}),
    ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": "*.example.com"}),
    ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": "https://payments.example.com"}),
    ("ALLOWED_HOSTS", {**PRODUCTION, "ALLOWED_HOSTS": "payments.example.com,*"}),
    ("ADMIN_ENABLED", {"ADMIN_ENABLED": "2"}),
    ("DISPLAY_TIME_ZONE", {"DISPLAY_TIME_ZONE": "Mars/Olympus"}),
    ("BANK_TIME_ZONE", {"BANK_TIME_ZONE": "Moscow"}),
    ("DATABASE_URL", {"DATABASE_URL": "not a url"}),
    ("DATABASE_URL_FILE", {"DATABASE_URL_FILE": MISSING_FILE}),
    ("DATABASE_OWNER_URL", {"DATABASE_OWNER_URL": "http://owner"}),
    ("DATABASE_OWNER_URL_FILE", {"DATABASE_OWNER_URL_FILE": MISSING_FILE}),
    ("DB_STATEMENT_TIMEOUT_MS", {"DB_STATEMENT_TIMEOUT_MS": "0"}),
    ("DB_LOCK_TIMEOUT_MS", {"DB_LOCK_TIMEOUT_MS": "5s"}),
    ("DB_TRANSACTION_POOLER", {"DB_TRANSACTION_POOLER": "pgbouncer"}),
    ("DB_CONNECT_TIMEOUT_SECONDS", {"DB_CONNECT_TIMEOUT_SECONDS": "-1"}),
    ("DB_POOL_MIN_SIZE", {"DB_POOL_MIN_SIZE": "30", "DB_POOL_MAX_SIZE": "20"}),
    ("DB_POOL_MAX_SIZE", {"DB_POOL_MAX_SIZE": "0"}),
    ("DB_POOL_TIMEOUT_SECONDS", {"DB_POOL_TIMEOUT_SECONDS": "1.5"}),
    ("WEBHOOK_PROCESSING", {"WEBHOOK_PROCESSING": "async"}),
    ("WORKER_HEARTBEAT_SECONDS", {"WORKER_HEARTBEAT_SECONDS": "0"}),
    ("WORKER_STALLED_AFTER_SECONDS", {"WORKER_STALLED_AFTER_SECONDS": "5"}),
    ("PAYMENTS_REQUEUE_CRON", {"PAYMENTS_REQUEUE_CRON": "every minute"}),
    ("PAYMENTS_SWEEP_CRON", {"PAYMENTS_SWEEP_CRON": "* * *"}),
    ("PAYMENTS_PENDING_GRACE_SECONDS", {"PAYMENTS_PENDING_GRACE_SECONDS": "60s"}),
    ("PAYMENTS_CREDIT_RETRIES", {"PAYMENTS_CREDIT_RETRIES": "0"}),
    ("PAYMENTS_REQUEUE_MAX", {"PAYMENTS_REQUEUE_MAX": "-1"}),
    ("PAYMENTS_HEAL_MAX", {"PAYMENTS_HEAL_MAX": "three"}),
    ("PAYMENTS_PENDING_STALE_SECONDS", {"PAYMENTS_PENDING_STALE_SECONDS": "0"}),
    ("MAX_REQUEST_BODY_BYTES", {"MAX_REQUEST_BODY_BYTES": "0"}),
    ("MAX_REQUEST_BODY_BYTES", {"MAX_REQUEST_BODY_BYTES": "-1"}),
    ("BANK_WEBHOOK_SECRETS_FILE", {"BANK_WEBHOOK_SECRETS_FILE": MISSING_FILE}),
    ("WEBHOOK_TOLERANCE_SECONDS", {"WEBHOOK_TOLERANCE_SECONDS": "315360000"}),
    ("WEBHOOK_TOLERANCE_SECONDS", {"WEBHOOK_TOLERANCE_SECONDS": "300s"}),
    ("API_TOKENS_FILE", {"API_TOKENS_FILE": MISSING_FILE}),
    ("SECURE_SSL_REDIRECT", {"SECURE_SSL_REDIRECT": "https"}),
    ("SESSION_COOKIE_SECURE", {"SESSION_COOKIE_SECURE": "secure"}),
    ("CSRF_COOKIE_SECURE", {"CSRF_COOKIE_SECURE": "secure"}),
    ("SECURE_HSTS_SECONDS", {"SECURE_HSTS_SECONDS": "1y"}),
    ("SECURE_HSTS_INCLUDE_SUBDOMAINS", {"SECURE_HSTS_INCLUDE_SUBDOMAINS": "all"}),
    ("SECURE_HSTS_PRELOAD", {"SECURE_HSTS_PRELOAD": "preload"}),
    ("SECURE_PROXY_SSL_HEADER", {"SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"}),
    ("ADMIN_LOGIN_FAILURE_LIMIT", {"ADMIN_LOGIN_FAILURE_LIMIT": "0"}),
    ("ADMIN_LOGIN_COOLOFF_MINUTES", {"ADMIN_LOGIN_COOLOFF_MINUTES": "1h"}),
    ("HOST", {"HOST": "http://0.0.0.0"}),
    ("PORT", {"PORT": "65536"}),
    ("WEB_CONCURRENCY", {"WEB_CONCURRENCY": "0"}),
    ("HEALTH_DB_TIMEOUT_SECONDS", {"HEALTH_DB_TIMEOUT_SECONDS": "0"}),
    ("METRICS_TOKEN_FILE", {"METRICS_TOKEN_FILE": MISSING_FILE}),
    ("METRICS_INTERNAL_ONLY", {"METRICS_INTERNAL_ONLY": "internal"}),
    ("LOG_LEVEL", {"LOG_LEVEL": "LOUD"}),
    ("LOG_FORMAT", {"LOG_FORMAT": "xml"}),
]

# Variables any text suits here, and where their content is checked instead.
FREE = {
    "STATIC_ROOT": "a directory; collectstatic creates it",
    "TEST_DATABASE_NAME": "a database name; the test runner creates it",
    "PROMETHEUS_MULTIPROC_DIR": "a directory; prometheus_client reads it",
    "BANK_WEBHOOK_SECRETS": "payments.checks: whsec_ format and length (a system check)",
    "API_TOKENS": "payments.checks: length (a system check)",
    "METRICS_TOKEN": "core.checks E011: length (a system check)",
}


def env_read(environment: dict[str, str], monkeypatch) -> dict:
    """core/settings/env.py run afresh on os.environ without any variable it reads, plus
    environment (the loaded settings are not touched)."""
    for name in env.VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # a former name, read on purpose
        return runpy.run_path(env.__file__, run_name="env_under_test")


def test_every_variable_read_has_a_case():
    """A new variable read in env.py without a case here fails this test."""
    covered = {name for name, _ in REFUSED} | set(FREE)

    assert covered == set(env.VARIABLES)


def test_the_defaults_are_accepted(monkeypatch):
    assert env_read({}, monkeypatch)["DEBUG"] is False


@pytest.mark.parametrize(
    ("name", "environment"), REFUSED, ids=[f"{name}-{i}" for i, (name, _) in enumerate(REFUSED)]
)
def test_a_bad_value_is_one_line_naming_the_variable(name, environment, monkeypatch):
    with pytest.raises(SettingError) as refused:
        env_read(environment, monkeypatch)

    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(name)
    assert "expected" in message or "not both" in message
    if name in {"SECRET_KEY", "DATABASE_URL", "DATABASE_OWNER_URL"}:  # a secret: never shown
        assert environment[name] not in message


def test_the_values_the_project_ships_are_accepted(monkeypatch):
    """The test servers', the benchmark's and the Docker image's kinds of values."""
    env_read(
        {
            "DEBUG": "0",
            "SECRET_KEY": "test-only-5Jw0c8Qm2rYzL1vXbN7tKp3sHd9fGa6eUo4iWy-Rq",
            "ALLOWED_HOSTS": ".example.com,payments.example.com,127.0.0.1,[::1]",
            "HOST": "0.0.0.0",
            "DB_POOL_MIN_SIZE": "0",
            "LOG_LEVEL": "warning",
            "PAYMENTS_REQUEUE_CRON": "* * * * * */1",
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        },
        monkeypatch,
    )


def entry_point_run(*args: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.processes
@pytest.mark.parametrize(
    "entry_point",
    [
        ("manage.py", "check"),
        ("-m", "core.serve"),
        ("-m", "uvicorn", "core.asgi:application", "--port", "0", "--workers", "2"),
    ],
    ids=["manage.py", "core.serve", "uvicorn"],
)
def test_every_entry_point_says_the_one_line_and_stops(entry_point):
    if entry_point[-1] == "2":  # uvicorn: a free port, in case the refusal were to fail
        entry_point = (*entry_point[:3], "--port", str(free_port()), "--workers", "2")
    refused = entry_point_run(*entry_point, WEBHOOK_TOLERANCE_SECONDS="315360000")

    # uvicorn's supervisor stops (its own status is 0) once a worker exits with core.asgi's
    # STARTUP_FAILURE; that it returned at all (no timeout) is the stop.
    assert refused.returncode != 0 or entry_point[1] == "uvicorn"
    assert "Traceback" not in refused.stderr
    assert (
        "WEBHOOK_TOLERANCE_SECONDS='315360000' is refused: expected a whole number from 1 to "
        "3600 (seconds)." in refused.stderr.splitlines()
    )
