"""How the server runs, defined once for every way it is started.

`python -m core.serve` replaces itself with uvicorn on the command line below (HOST, PORT and
WEB_CONCURRENCY from the environment): scripts/serve.sh and the Dockerfile run it. Tests and the
benchmark start the same command line on a free port with server_start(). Stdlib only: the
production image runs it, and tools run it without the dev extra.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# uvicorn's drain on SIGTERM: in-flight requests finish, then the workers exit.
GRACEFUL_SHUTDOWN_SECONDS = 10
# Seconds uvicorn keeps an idle keep-alive connection open (its default is 5). A server that
# closes an idle connection just as the client sends a request on it leaves that request
# unanswered (a reset). Longer than the idle reuse of most clients and proxies (httpx 5 s, nginx
# and cloud load balancers 60 s) leaves the closing to them; see docs/operations.md, "Keep-alive".
KEEP_ALIVE_SECONDS = 75


def uvicorn_args(*, port: int, workers: int, host: str = "127.0.0.1") -> list[str]:
    """The server's command line after the interpreter."""
    return [
        "-m", "uvicorn", "core.asgi:application",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--lifespan", "on", "--no-access-log",
        "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS),
        "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS),
    ]  # fmt: skip


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
) -> subprocess.Popen:
    """Start the server on 127.0.0.1:port in its own process group and wait until ready_path
    answers 200 (/healthz needs no database; /readyz does). Raise RuntimeError if it never does.
    """
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, *uvicorn_args(port=port, workers=workers)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not _answers_200(f"http://127.0.0.1:{port}{ready_path}"):
        if process.poll() is not None or time.monotonic() > deadline:
            process_stop(process)
            raise RuntimeError(f"the server did not become ready on port {port}")
        time.sleep(0.2)
    return process


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
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http, local)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
    # exec: uvicorn takes this process's place, so it gets the signals sent to it (PID 1 in
    # the container, serve.sh's child under `make run`).
    args = uvicorn_args(port=port, workers=workers, host=host)
    os.execv(sys.executable, [sys.executable, *args])  # noqa: S606 (our interpreter, our args)


if __name__ == "__main__":
    main()
