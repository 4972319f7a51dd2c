"""core.settings: every variable is read in core.settings.env; a renamed one keeps working."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import env

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
    """One module reads the environment, so there is one place to look a variable up."""
    sections = Path(env.__file__).parent.glob("*.py")
    readers = [
        path.name
        for path in sections
        if path != Path(env.__file__) and re.search(r"\bos\.(environ|getenv)", path.read_text())
    ]

    assert readers == []
