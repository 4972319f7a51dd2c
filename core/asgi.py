"""ASGI entry point: `uvicorn core.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

from core.body_limit import BodySizeLimitMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
django_application = get_asgi_application()

# It imports payments' models, so only once get_asgi_application() has loaded the apps.
from core.observability import ObservabilityMiddleware  # noqa: E402

# Outermost: every response, the body limit's 413 too, gets a request id and is observed.
application = ObservabilityMiddleware(BodySizeLimitMiddleware(django_application))
