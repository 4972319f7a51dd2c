"""ASGI entry point: `uvicorn core.asgi:application`."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from core.body_limit import BodySizeLimitMiddleware

# uvicorn's exit status for "the app cannot start": its supervisor then stops (uvicorn >= 0.50)
# instead of restarting the worker forever, as it does after any other exception.
STARTUP_FAILURE = 3

application = BodySizeLimitMiddleware(get_asgi_application())

if not settings.DEBUG:
    # manage.py runs the system checks before it serves; uvicorn never does, so an unsafe
    # production configuration (no webhook secrets, no tokens, dev SECRET_KEY...) would start
    # quietly. Refuse to start instead.
    try:
        call_command("check")
    except SystemCheckError as exc:
        sys.stderr.write(f"{exc}\nRefusing to start.\n")
        sys.exit(STARTUP_FAILURE)
