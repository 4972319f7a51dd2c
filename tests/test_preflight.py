"""`make run` fails early, in one line that says what to do: a database it cannot use, a port
that is taken (scripts/preflight.py, run by the launcher and by scripts/serve.sh)."""

import shutil
import socket
import subprocess

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.processes import ROOT, clean_env, free_port, suite_database_url

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(not shutil.which("make"), reason="no make"),
]


def make_run(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("case", ["nothing listens", "no such database"])
def test_a_database_it_cannot_use_is_one_line_naming_host_port_and_database(case):
    if case == "nothing listens":
        url = f"postgresql://payments@127.0.0.1:{free_port()}/payments"
        check = "Is PostgreSQL running"
    else:
        url = suite_database_url(dbname="no_such_database")
        check = "createdb"
    where = conninfo_to_dict(url)

    result = make_run(DATABASE_URL=url, PORT=str(free_port()))

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    said = [line for line in output.splitlines() if "cannot connect" in line]
    assert len(said) == 1, output
    host = where.get("host") or "localhost"
    for part in (host, where.get("port") or "5432", where["dbname"], "DATABASE_URL", check):
        assert part in said[0], said[0]
    assert len(output.splitlines()) <= 3, output


def test_a_busy_port_is_found_before_migrate_and_seed_and_names_PORT(scratch_database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = make_run(DATABASE_URL=scratch_database_url, PORT=str(port))

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"port {port}" in output
    assert "PORT=" in output
    assert "Operations to perform" not in output  # migrate's first line
    with psycopg.connect(scratch_database_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone()[0] == 0
