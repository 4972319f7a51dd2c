"""The ASGI stack around Django, in one place for the server (core.asgi) and in-process tests."""

from core.body_limit import ASGIApp, BodySizeLimitMiddleware
from core.db import db_lifespan
from core.fastpath.handler import asgi_handler_get


def uvicorn_args(*, port: int, workers: int, host: str = "127.0.0.1") -> list[str]:
    """The server's command line after the interpreter, for the tests and the benchmark that
    start one; scripts/serve.sh and the Dockerfile spell the same flags in shell."""
    return [
        "-m", "uvicorn", "core.asgi:application",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--lifespan", "on", "--no-access-log",
    ]  # fmt: skip


def asgi_stack_build() -> ASGIApp:
    django_application = asgi_handler_get()
    # It imports payments' models, so only once the handler has loaded the apps.
    from core.observability import ObservabilityMiddleware

    # Every response, the body limit's 413 too, gets a request id and is observed. The lifespan
    # layer (the server's startup and shutdown, no requests) opens and closes the async pool.
    return db_lifespan(ObservabilityMiddleware(BodySizeLimitMiddleware(django_application)))
