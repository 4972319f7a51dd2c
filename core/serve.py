"""How the server runs, defined once for every way it is started.

`python -m core.serve` replaces itself with uvicorn on the command line below (HOST, PORT and
WEB_CONCURRENCY, read by core.settings.env): scripts/serve.sh and the Dockerfile run it, and the
tests and benchmarks start the same command line (testsupport.launch). It loads no Django: a
refused setting is one line here, before uvicorn starts.
"""

import os
import sys

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
        # httptools' protocol, honouring the host of an absolute-form target (RFC 9112 3.2.2).
        "--http", "core.http.protocol:HostFromTargetProtocol",
        "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_SECONDS),
        "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS),
    ]  # fmt: skip


def main() -> None:
    from core.errors import SettingError

    try:
        from core.settings import env
    except SettingError as error:
        sys.exit(str(error))
    # exec: uvicorn takes this process's place, so it gets the signals sent to it (PID 1 in
    # the container, serve.sh's child under `make run`).
    args = uvicorn_args(port=env.PORT, workers=env.WEB_CONCURRENCY, host=env.HOST)
    os.execv(sys.executable, [sys.executable, *args])  # noqa: S606 (our interpreter, our args)


if __name__ == "__main__":
    main()
