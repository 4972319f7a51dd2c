"""ASGI entry point: `uvicorn core.asgi:application`."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

from core.errors import SettingError

# uvicorn's exit status for "the app cannot start": its supervisor then stops (uvicorn >= 0.50)
# instead of restarting the worker forever, as it does after any other exception.
STARTUP_FAILURE = 3

try:
    from core.http.stack import asgi_stack_build

    application = asgi_stack_build()
except SettingError as error:
    # One line naming the variable (core.settings.env), not a traceback.
    sys.stderr.write(f"{error}\n")
    sys.exit(STARTUP_FAILURE)

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import SystemCheckError  # noqa: E402

if not settings.DEBUG:
    # manage.py runs the system checks before it serves; uvicorn never does, so an unsafe
    # production configuration (no webhook secrets, no tokens, dev SECRET_KEY...) would start
    # quietly. Refuse to start instead.
    try:
        call_command("check", databases=["default"])
    except SystemCheckError as exc:
        sys.stderr.write(f"{exc}\nRefusing to start.\n")
        sys.exit(STARTUP_FAILURE)
