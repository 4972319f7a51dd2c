"""The Makefile: `make help` documents every target, `make clean` works on a fresh clone."""

import re
import shutil
import subprocess

import pytest

from testsupport.launch import ROOT

pytestmark = [pytest.mark.processes, pytest.mark.skipif(not shutil.which("make"), reason="no make")]


def make(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_make_help_lists_every_target_with_one_line():
    phony = re.search(r"^\.PHONY:(.*?)(?<!\\)$", (ROOT / "Makefile").read_text(), re.M | re.S)
    targets = set(phony.group(1).replace("\\", " ").split())

    targets_part = make("help").stdout.split("\n\n")[0]
    listed = dict(line.split(maxsplit=1) for line in targets_part.splitlines())

    assert set(listed) == targets
    assert all(description.strip() for description in listed.values())


def test_make_help_lists_the_variables_that_matter():
    """Seen failing before: `make help` named no variable."""
    variables = make("help").stdout.split("\n\n", 1)[1]

    for name in ("PORT", "HOST", "DATABASE_URL", "WEB_CONCURRENCY", "WEBHOOK_PROCESSING"):
        assert f"{name}=" in variables
    for name in ("ARGS", "PYTEST_ARGS", "LOADTEST_URL", "BENCH_ARGS", "SCALE_ARGS"):
        assert name in variables


def test_make_clean_on_a_fresh_clone_installs_nothing(tmp_path):
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")

    make("clean", cwd=tmp_path)

    assert not (tmp_path / ".venv").exists()
