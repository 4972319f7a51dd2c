"""core.settings: every variable is read in core.settings.env; a renamed one keeps working."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import env
from testsupport.launch import ROOT
from testsupport.servers import secret_files

RENAMED = ("PAYMENTS_REQUEUE_MAX", "PAYMENTS_HEAL_MAX")


def requeue_max_read(**environment: str) -> subprocess.CompletedProcess:
    """settings.PAYMENTS_REQUEUE_MAX as a fresh process reads it from this environment."""
    inherited = {name: value for name, value in os.environ.items() if name not in RENAMED}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.PAYMENTS_REQUEUE_MAX)",
        ],
        env={**inherited, "DJANGO_SETTINGS_MODULE": "core.settings", **environment},
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.processes
def test_a_renamed_variable_still_works_and_warns_that_it_is_deprecated():
    result = requeue_max_read(PAYMENTS_HEAL_MAX="7")

    assert result.stdout == "7\n"
    assert "PAYMENTS_HEAL_MAX is deprecated: set PAYMENTS_REQUEUE_MAX instead" in result.stderr


@pytest.mark.processes
def test_the_new_name_wins_over_the_former_one():
    result = requeue_max_read(PAYMENTS_HEAL_MAX="7", PAYMENTS_REQUEUE_MAX="2")

    assert result.stdout == "2\n"
    assert "PAYMENTS_HEAL_MAX is ignored while PAYMENTS_REQUEUE_MAX is set" in result.stderr


def test_no_other_settings_module_reads_the_environment():
    """One module reads the environment, so there is one place to look a variable up: env.py,
    through readers.py's readers, which read only the names env.py gives them."""
    env_py = Path(env.__file__)
    readers_py = env_py.with_name("readers.py")
    sections = env_py.parent.glob("*.py")
    readers = [
        path.name
        for path in sections
        if path not in (env_py, readers_py)
        and re.search(r"\bos\.(environ|getenv)", path.read_text())
    ]

    assert readers == []
    assert re.findall(r"[\"'][A-Z][A-Z0-9]*_[A-Z0-9_]+[\"']", readers_py.read_text()) == []


SECRET_SETTINGS = [
    "SECRET_KEY",
    "BANK_WEBHOOK_SECRETS",
    "API_TOKENS",
    "METRICS_TOKEN",
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
]


PRINT_SETTINGS = (
    "import json; from django.conf import settings; print(json.dumps({name: getattr(settings, "
    f"name) for name in {SECRET_SETTINGS!r}}}))"
)


def settings_loaded(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.processes
def test_every_secret_setting_reads_its_file(tmp_path):
    values = {
        "SECRET_KEY": "from-a-file-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "BANK_WEBHOOK_SECRETS": (
            "whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQ=,whsec_bmV3LW5ldy1uZXctbmV3LW5ldy0="
        ),
        "API_TOKENS": "token-one-from-a-file,token-two-from-a-file",
        "METRICS_TOKEN": "metrics-token-from-a-file",
        "DATABASE_URL": "postgresql://serving@db.example/payments",
        "DATABASE_OWNER_URL": "postgresql://owner@db.example/payments",
    }
    # Production: DEBUG=1 refuses production secrets (docs/security.md, "DEBUG").
    loaded = settings_loaded({**secret_files(tmp_path, values), "DEBUG": "0"})

    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout.splitlines()[-1]) == {
        **values,
        "BANK_WEBHOOK_SECRETS": values["BANK_WEBHOOK_SECRETS"].split(","),
        "API_TOKENS": values["API_TOKENS"].split(","),
    }


@pytest.mark.processes
@pytest.mark.parametrize("name", SECRET_SETTINGS)
def test_a_secret_set_both_ways_is_refused(tmp_path, name):
    env = {**secret_files(tmp_path, {name: "from-the-file"}), name: "from-the-environment"}
    loaded = settings_loaded(env)

    assert loaded.returncode != 0
    assert f"Set {name} or {name}_FILE, not both" in loaded.stderr
