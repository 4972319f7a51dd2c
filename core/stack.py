"""The ASGI stack around Django, in one place for the server (core.asgi) and in-process tests."""

from core.body_limit import ASGIApp, BodySizeLimitMiddleware
from core.db import db_lifespan
from core.handler import asgi_handler_get


def asgi_stack_build() -> ASGIApp:
    django_application = asgi_handler_get()
    # It imports payments' models, so only once the handler has loaded the apps.
    from core.observability import ObservabilityMiddleware

    # Every response, the body limit's 413 too, gets a request id and is observed. The lifespan
    # layer (the server's startup and shutdown, no requests) opens and closes the async pool.
    return db_lifespan(ObservabilityMiddleware(BodySizeLimitMiddleware(django_application)))
