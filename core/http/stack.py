"""The ASGI stack around Django, in one place for the server (core.asgi) and in-process tests."""

from django.conf import settings
from django.utils.module_loading import import_string

from core.db import db_lifespan
from core.http.fastpath.handler import asgi_handler_get
from core.http.layer import ASGIApp


def asgi_stack_build() -> ASGIApp:
    """Django wrapped in settings.ASGI_MIDDLEWARE (outermost first), inside the lifespan layer
    (the server's startup and shutdown, no requests), which opens and closes the async pool."""
    application: ASGIApp = asgi_handler_get()
    # Imported once the handler has loaded the apps: a layer may import an app's models.
    for path in reversed(settings.ASGI_MIDDLEWARE):
        application = import_string(path)(application)
    return db_lifespan(application)
