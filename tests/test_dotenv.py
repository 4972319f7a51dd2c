"""A .env file beside manage.py is read as Django users expect: by the settings, before any of
them is read, and by the launcher `make` runs everything through; the environment wins.

Both run from a copy of the project in a temporary folder, with a .env of the test's own, so
that a developer's real .env (git-ignored) changes nothing here.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.processes import ROOT, clean_env

pytestmark = pytest.mark.processes

SHOW_SETTINGS = (
    "import json, core.settings as s; "
    "print(json.dumps([s.__file__, s.ALLOWED_HOSTS, s.WEBHOOK_TOLERANCE_SECONDS]))"
)
SHOW_ENVIRONMENT = (
    sys.executable,
    "-c",
    "import os; print(os.environ['DATABASE_URL']); print(os.environ['PORT'])",
)


def without(*names: str, **extra: str) -> dict[str, str]:
    env = clean_env(**extra)
    for name in names:
        env.pop(name, None)
    return env


def test_settings_read_dotenv_and_the_environment_wins(tmp_path):
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=shutil.ignore_patterns("tests"))
    (tmp_path / ".env").write_text(
        "# comments and quotes as python-dotenv reads them\n"
        'ALLOWED_HOSTS="from-file.example"\n'
        "WEBHOOK_TOLERANCE_SECONDS=42\n"
    )

    read = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS],
        cwd=tmp_path,
        env=without("WEBHOOK_TOLERANCE_SECONDS", ALLOWED_HOSTS="from-env.example"),
        capture_output=True,
        text=True,
        check=True,
    )

    settings_file, allowed_hosts, tolerance = json.loads(read.stdout)
    assert settings_file.startswith(str(tmp_path))  # the copy, beside its .env, was read
    assert tolerance == 42  # from the file
    assert allowed_hosts == ["from-env.example"]  # the environment wins


def test_the_launcher_reads_dotenv_and_the_environment_wins(tmp_path):
    """`make run` with DATABASE_URL in .env uses that database (no embedded one), and its
    command sees the file's PORT; a DATABASE_URL in the environment wins over the file's."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.skip("needs DATABASE_URL (make test sets it)")
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts", ignore=shutil.ignore_patterns("tests"))
    (tmp_path / ".env").write_text(f"DATABASE_URL={url}\nPORT=8123\n")

    def launch(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "scripts/embedded_db.py", "exec", "--", *SHOW_ENVIRONMENT],
            cwd=tmp_path,
            env=without("PORT", EMBEDDED_PGDATA=str(tmp_path / "pgdata"), **env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    from_file = launch()
    assert from_file.stdout.splitlines() == [url, "8123"], from_file.stderr
    assert not (tmp_path / "pgdata").exists()  # no embedded PostgreSQL was started

    spelled_otherwise = f"{url}{'&' if '?' in url else '?'}application_name=from-env"
    from_environment = launch(DATABASE_URL=spelled_otherwise)
    assert from_environment.stdout.splitlines() == [spelled_otherwise, "8123"]


ALL_SETTINGS = (
    "import json, core.settings as s; "
    "print(json.dumps({k: v for k, v in vars(s).items() if k.isupper()}, default=str))"
)


def test_env_example_copied_to_dotenv_changes_no_setting(tmp_path):
    """.env.example is a dotenv file whose values are the defaults: `cp .env.example .env` is a
    safe start."""
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=shutil.ignore_patterns("tests"))
    names = [
        line.split("=", 1)[0].lstrip("# ")
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ")[:1].isupper()
    ]
    env = without(*names)

    def settings() -> dict:
        read = subprocess.run(
            [sys.executable, "-c", ALL_SETTINGS],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(read.stdout)

    defaults = settings()
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")

    assert settings() == defaults
