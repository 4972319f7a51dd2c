"""`make run`'s launcher (scripts/embedded_db.py exec -- sh scripts/serve.sh): however it ends,
the server it started ends with it and frees its port."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from testsupport.database import test_database_url
from testsupport.launch import ROOT, free_port

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


def descendants(pid: int) -> set[int]:
    """Every live process below pid (children, their children...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent has yet to read its status


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def launcher_start(port: int, *command: str, **extra: str) -> subprocess.Popen:
    """`make run`'s command line on the test database; returns once the server answers."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "PORT": str(port),
        "PY": sys.executable,
        "LOG_LEVEL": "WARNING",
        "DB_POOL_MAX_SIZE": "4",
        **extra,
    }
    # Its own session, as a terminal gives `make run` its own process group: the signal below
    # goes to the launcher alone, as `kill` from another terminal does.
    launcher = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return launcher
        except httpx.TransportError:
            if launcher.poll() is not None or time.monotonic() > deadline:
                os.killpg(launcher.pid, signal.SIGKILL)
                raise AssertionError("make run's server did not start") from None
            time.sleep(0.3)


EMBEDDED_DB_EXEC = (
    sys.executable,
    "scripts/embedded_db.py",
    "exec",
    "--",
    "sh",
    "scripts/serve.sh",
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; prctl is Linux's")
@pytest.mark.parametrize(
    ("command", "signum"),
    [
        (EMBEDDED_DB_EXEC, signal.SIGKILL),
        (EMBEDDED_DB_EXEC, signal.SIGHUP),
        (("make", "--no-print-directory", "run"), signal.SIGKILL),
    ],
    ids=["launcher-SIGKILL", "launcher-SIGHUP", "make-run-SIGKILL"],
)
def test_killed_launcher_ends_the_server_and_frees_its_port(command, signum):
    """A real signal to the real launcher: every process it started is gone and the port is
    free within a bound (uvicorn's graceful shutdown is at most 10 s).
    """
    port = free_port()
    launcher = launcher_start(port, *command)
    started = descendants(launcher.pid)
    assert started, "the launcher started nothing"
    try:
        os.kill(launcher.pid, signum)
        launcher.wait(timeout=30)
        deadline = time.monotonic() + 30
        while (left := {pid for pid in started if alive(pid)}) or port_open(port):
            assert time.monotonic() < deadline, (
                f"left running: {left}, port open: {port_open(port)}"
            )
            time.sleep(0.2)
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_server_runs_without_the_owner_url_in_its_environment():
    """scripts/serve.sh migrates as the owner, then serves without its URL: the server's
    process (and so any report of its environment) never holds the owner's password."""
    port = free_port()
    owner_url = test_database_url(owner=True)
    os.environ["DATABASE_OWNER_URL"], saved = owner_url, os.environ.get("DATABASE_OWNER_URL")
    try:
        launcher = launcher_start(port, "sh", "scripts/serve.sh")
    finally:
        if saved is None:
            del os.environ["DATABASE_OWNER_URL"]
        else:
            os.environ["DATABASE_OWNER_URL"] = saved
    started = descendants(launcher.pid)
    try:
        environments = {
            pid: Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") for pid in started
        }
        assert environments
        holders = [
            pid
            for pid, environment in environments.items()
            if any(entry.startswith(b"DATABASE_OWNER_URL=") for entry in environment)
        ]
        assert holders == []
    finally:
        os.killpg(launcher.pid, signal.SIGTERM)
        launcher.wait(timeout=30)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_background_worker_exiting_stops_the_server():
    """WEBHOOK_PROCESSING=background: serve.sh runs a worker beside the server. The worker
    killed, serve.sh stops the server and exits 1, instead of serving "accepted" with nobody to
    credit."""
    port = free_port()
    launcher = launcher_start(port, "sh", "scripts/serve.sh", WEBHOOK_PROCESSING="background")
    started = descendants(launcher.pid)
    try:
        (worker,) = [
            pid
            for pid in started
            if b"procrastinate" in Path(f"/proc/{pid}/cmdline").read_bytes()
            and b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        os.kill(worker, signal.SIGKILL)

        assert launcher.wait(timeout=30) == 1
        deadline = time.monotonic() + 30
        while (left := {pid for pid in started if alive(pid)}) or port_open(port):
            assert time.monotonic() < deadline, f"left running: {left}"
            time.sleep(0.2)
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
