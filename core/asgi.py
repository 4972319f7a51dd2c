"""ASGI entry point: `uvicorn core.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

from core.body_limit import BodySizeLimitMiddleware

application = BodySizeLimitMiddleware(get_asgi_application())
