"""DEBUG: production is what a forgotten variable falls to, and development never serves a
production deployment (docs/security.md, "DEBUG")."""

import os
import subprocess
import sys

import pytest

from testsupport.database import test_database_url
from testsupport.launch import ROOT

pytestmark = pytest.mark.processes

PRINT_DEBUG = "from django.conf import settings; print(settings.DEBUG)"


def python_run(*args: str, **environment: str) -> subprocess.CompletedProcess:
    """python args in a fresh process with this environment (DEBUG unset unless given)."""
    inherited = {name: value for name, value in os.environ.items() if name != "DEBUG"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "core.settings", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_is_off_unless_asked_for():
    assert python_run("-c", PRINT_DEBUG).stdout == "False\n"
    assert python_run("-c", PRINT_DEBUG, DEBUG="1").stdout == "True\n"


def test_the_development_launcher_turns_debug_on_when_nothing_says_otherwise():
    """`make run`, `make test`, `make manage`... all run through scripts/embedded_db.py."""
    show = "import os; print(os.environ.get('DEBUG'))"
    launcher = ["scripts/embedded_db.py", "exec", "--", sys.executable, "-c", show]

    assert python_run(*launcher, DATABASE_URL=test_database_url()).stdout == "1\n"
    assert python_run(*launcher, DATABASE_URL=test_database_url(), DEBUG="0").stdout == "0\n"


@pytest.mark.parametrize(
    "production",
    [
        {"SECRET_KEY": "a-production-secret-key-0123456789-abcdefghijklmnopqrstuv"},
        {"BANK_WEBHOOK_SECRETS": "whsec_dGVzdC1vbmx5LWJhbmstd2ViaG9vay1zZWNyZXQtMzJi"},
        {"API_TOKENS": "a-reader-token-0123456789abcdefghijklmnop"},
        {"METRICS_TOKEN": "a-metrics-token-0123456789abcdefghijklmnop"},
    ],
    ids=lambda production: next(iter(production)),
)
def test_debug_with_a_production_secret_refuses_to_start_in_one_line(production):
    (name,) = production
    refused = python_run("manage.py", "check", DEBUG="1", **production)

    assert refused.returncode != 0
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "DEBUG" in refused.stderr
    assert name in refused.stderr
    assert production[name] not in refused.stderr


def test_debug_bound_beyond_loopback_refuses_to_start_in_one_line():
    refused = python_run("-m", "core.serve", DEBUG="1", HOST="0.0.0.0", PORT="1")

    assert refused.returncode != 0
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "DEBUG" in refused.stderr
    assert "HOST=0.0.0.0" in refused.stderr
