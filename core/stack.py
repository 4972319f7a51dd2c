"""The ASGI stack around Django, in one place for the server (core.asgi) and in-process tests."""

from django.core.asgi import get_asgi_application

from core.body_limit import ASGIApp, BodySizeLimitMiddleware


def asgi_stack_build() -> ASGIApp:
    django_application = get_asgi_application()
    # It imports payments' models, so only once get_asgi_application() has loaded the apps.
    from core.observability import ObservabilityMiddleware

    # Outermost: every response, the body limit's 413 too, gets a request id and is observed.
    return ObservabilityMiddleware(BodySizeLimitMiddleware(django_application))
