"""Production refuses to start while anyone could import a statement (and so credit money)."""

import subprocess
import sys

import pytest

from statements.checks import statements_settings_check
from testsupport.launch import ROOT
from testsupport.servers import PRODUCTION_ENV, process_env


def check_ids() -> list[str]:
    return [message.id for message in statements_settings_check()]


def test_safe_production_settings_pass(production_settings):
    assert check_ids() == []


def test_production_without_import_tokens_is_refused(production_settings):
    production_settings.STATEMENT_IMPORT_TOKENS = []

    assert check_ids() == ["statements.E001"]


def test_a_short_import_token_is_refused(production_settings):
    production_settings.STATEMENT_IMPORT_TOKENS = ["short"]

    assert check_ids() == ["statements.E003"]


def test_development_may_leave_imports_open(settings):
    settings.DEBUG = True
    settings.STATEMENT_IMPORT_TOKENS = []

    assert check_ids() == []


@pytest.mark.processes
def test_manage_py_check_refuses_production_without_import_tokens():
    env = process_env(**{**PRODUCTION_ENV, "STATEMENT_IMPORT_TOKENS": ""})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert "statements.E001" in result.stderr
