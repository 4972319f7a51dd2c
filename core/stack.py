"""The ASGI stack around Django, in one place for the server (core.asgi) and in-process tests."""

from django.core.asgi import get_asgi_application

from core.body_limit import ASGIApp, BodySizeLimitMiddleware
from core.db import db_lifespan


def asgi_stack_build() -> ASGIApp:
    django_application = get_asgi_application()
    # It imports payments' models, so only once get_asgi_application() has loaded the apps.
    from core.observability import ObservabilityMiddleware

    # Every response, the body limit's 413 too, gets a request id and is observed. The lifespan
    # layer (the server's startup and shutdown, no requests) opens and closes the async pool.
    return db_lifespan(ObservabilityMiddleware(BodySizeLimitMiddleware(django_application)))
