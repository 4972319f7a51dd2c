"""Start and stop the server as production runs it (core.serve's command line), on a free port.

Stdlib only: the benchmarks (loadtest) use it without the test dependencies.
"""

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from core.serve import uvicorn_args

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(
    *,
    port: int,
    workers: int,
    env: dict[str, str],
    ready_path: str = "/healthz",
    timeout: float = 30,
    output: IO[bytes] | None = None,
    args: list[str] | None = None,
) -> subprocess.Popen:
    """Start the server on 127.0.0.1:port in its own process group and wait until ready_path
    answers 200 (/healthz needs no database; /readyz does). Raise RuntimeError if it never does.
    Its output goes to output if given, else to this process's; args replace its command line
    after the interpreter (core.serve's, by default).
    """
    process = subprocess.Popen(
        [sys.executable, *(args or uvicorn_args(port=port, workers=workers))],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=output,
        stderr=output,
    )
    if not ready_within(process, f"http://127.0.0.1:{port}{ready_path}", timeout=timeout):
        process_stop(process)
        raise RuntimeError(f"the server did not become ready on port {port}")
    return process


def ready_within(
    process: subprocess.Popen, url: str, *, timeout: float, interval: float = 0.2
) -> bool:
    """True once url answers 200; False if the process exits or timeout passes first."""
    deadline = time.monotonic() + timeout
    while not _answers_200(url):
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def process_stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within timeout seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def server_running(
    *, workers: int, env: dict[str, str], ready_path: str = "/healthz"
) -> Iterator[str]:
    """A server on a free port for the block; yields its base URL."""
    port = free_port()
    process = server_start(port=port, workers=workers, env=env, ready_path=ready_path)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process_stop(process)


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
