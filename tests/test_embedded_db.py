"""scripts/embedded_db.py: the embedded PostgreSQL outlives none of its users and dies under none.

Each user is a real launcher (`embedded_db.py exec -- <command>`, what `make run`, `make worker`,
`make test` and `make manage` run) on a data directory of the test's own, whose command opens a
new connection each time the test asks it to.
"""

import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import EMBEDDED_DB, clean_env, end, postmaster_pid, wait_until

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

# A user of the database: for each line on stdin, a new connection and a SELECT 1.
USER_COMMAND = """
import os, sys, psycopg
for line in sys.stdin:
    try:
        with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        print("ok", flush=True)
    except psycopg.Error as error:
        print("failed:", str(error).strip().splitlines()[0], flush=True)
"""


class User:
    """One launcher and its command, in a session of its own as a terminal would give it."""

    def __init__(self, pgdata: Path, *, name: str | None = None):
        self.process = subprocess.Popen(
            [
                *EMBEDDED_DB,
                "exec",
                *(["--as", name] if name else []),
                "--",
                sys.executable,
                "-c",
                USER_COMMAND,
            ],
            env=clean_env(EMBEDDED_PGDATA=str(pgdata)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def ask(self, timeout: float = 60) -> str:
        """'ok' when the command could open a connection and run a query just now."""
        self.process.stdin.write("?\n")
        self.process.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                return f"no answer within {timeout} s"
        return self.process.stdout.readline().strip() or "the command ended"

    def finish(self) -> str:
        """End the command normally (end of its input); return what the launcher printed."""
        self.process.stdin.close()
        self.process.wait(timeout=60)
        return self.process.stderr.read()


@pytest.fixture(scope="module")
def pgdata() -> Iterator[Path]:
    # Not under pytest's basetemp: as root, the server runs as its own user, which must enter
    # the folder's parents, and any other pytest session of root that starts meanwhile resets
    # /tmp/pytest-of-root to 0700 (the server then cannot stop: "Permission denied").
    folder = Path(tempfile.mkdtemp(prefix="embedded-db-test-"))
    yield folder / "pgdata"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def users(pgdata):
    """Starts users; afterwards ends any still running and stops the server."""
    started: list[User] = []

    def start(**kwargs) -> User:
        user = User(pgdata, **kwargs)
        started.append(user)
        return user

    yield start
    for user in started:
        end(user.process, signal.SIGKILL)
    subprocess.run([*EMBEDDED_DB, "stop"], env=clean_env(EMBEDDED_PGDATA=str(pgdata)), check=False)


def embedded_db(pgdata: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*EMBEDDED_DB, *args],
        env=clean_env(EMBEDDED_PGDATA=str(pgdata)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_database_stays_up_while_any_user_runs_and_stops_after_the_last(pgdata, users):
    first = users()
    assert first.ask() == "ok"
    second = users()
    assert second.ask() == "ok"

    end(first.process, signal.SIGINT)  # Ctrl-C in the first user's terminal

    assert second.ask() == "ok"
    assert postmaster_pid(pgdata)
    second.finish()
    wait_until(lambda: not postmaster_pid(pgdata), timeout=30, what="the server stopped")


def test_the_database_stops_when_its_last_user_is_killed(pgdata, users):
    user = users()
    assert user.ask() == "ok"

    user.process.kill()  # SIGKILL of the launcher: nothing of it runs any more

    wait_until(lambda: not postmaster_pid(pgdata), timeout=30, what="the server stopped")


def test_db_stop_stops_a_database_in_use_and_names_who_uses_it(pgdata, users):
    user = users(name="make worker")
    assert user.ask() == "ok"

    stopped = embedded_db(pgdata, "stop")

    assert stopped.returncode == 0
    assert "make worker" in stopped.stderr
    assert f"pid {user.process.pid}" in stopped.stderr
    assert not postmaster_pid(pgdata)
    assert user.ask().startswith("failed")


def test_reset_refuses_while_in_use_then_deletes_the_data(pgdata, users):
    user = users(name="make run")
    assert user.ask() == "ok"

    refused = embedded_db(pgdata, "reset")

    assert refused.returncode == 1
    assert "make run" in refused.stderr
    assert postmaster_pid(pgdata)
    assert user.ask() == "ok"

    user.finish()
    reset = embedded_db(pgdata, "reset")

    assert reset.returncode == 0, reset.stderr
    assert not pgdata.exists()
