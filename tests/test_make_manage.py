"""`make manage ARGS="..."` runs a management command on the database it is given exactly as it
is: only the embedded database is migrated first (the newcomer's flow is tested end to end in
test_newcomer.py)."""

import shutil
import subprocess

import psycopg
import pytest

from tests.processes import ROOT, clean_env

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(not shutil.which("make"), reason="no make"),
]


@pytest.mark.parametrize("outer", [{}, {"EMBEDDED_DB": "1"}], ids=["shell", "inside-make"])
def test_a_given_database_is_used_as_it_is_never_migrated(scratch_database_url, outer):
    """inside-make: run from a process of another launcher on the embedded database (make test),
    whose EMBEDDED_DB must not leak into this one. Seen failing: it migrated the given database."""
    env = {**clean_env(DATABASE_URL=scratch_database_url), **outer}

    done = subprocess.run(
        ["make", "--no-print-directory", "manage", "ARGS=shell -c 'print(6 * 7)'"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "42" in done.stdout.splitlines()
    with psycopg.connect(scratch_database_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone()[0] == 0
