"""No credential reaches a page, a log line or an error report, in any mode (docs/security.md,
"Credentials in error reports")."""

import logging
import sys

import pytest
from django.test import Client
from django.urls import path

from core.observability.logs import json_formatter, plain_formatter

PASSWORD = "s3cret-Pa55-word"
SERVING_URL = f"postgresql://payments_app:{PASSWORD}@db.example:5432/payments"
OWNER_URL = f"postgresql://payments_owner:{PASSWORD}@db.example:5432/payments"
OTHER_URL = f"redis://:{PASSWORD}@cache.example:6379/0"


def broken_view(request):
    """A bug whose frame holds credentials in its local variables (the debug page shows them)."""
    url = SERVING_URL  # noqa: F841
    conninfo = f"host=db.example user=payments_app password={PASSWORD}"  # noqa: F841
    raise RuntimeError(f"cannot reach {OWNER_URL}")


urlpatterns = [path("broken", broken_view)]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_a_500_shows_no_password(settings, debug):
    settings.DEBUG = debug
    settings.DATABASE_URL = SERVING_URL
    settings.DATABASE_OWNER_URL = OWNER_URL
    settings.CACHE_URL = OTHER_URL
    client = Client(raise_request_exception=False, HTTP_X_UPSTREAM=OTHER_URL)

    response = client.get("/broken", QUERY_STRING=f"next={SERVING_URL}")

    assert response.status_code == 500
    if debug:  # Django's technical page: the settings, the request, the frames' variables
        assert b"DATABASE_OWNER_URL" in response.content
    assert PASSWORD.encode() not in response.content


@pytest.mark.parametrize("formatter", [plain_formatter, json_formatter])
def test_a_log_line_shows_no_password(formatter):
    try:
        raise RuntimeError(f"cannot reach {OWNER_URL}")
    except RuntimeError:
        record = logging.makeLogRecord(
            {"msg": "connecting to %s", "args": (SERVING_URL,), "exc_info": sys.exc_info()}
        )
    record.request_id = None
    record.upstream = OTHER_URL

    line = formatter().format(record)

    assert "payments_owner" in line
    assert PASSWORD not in line
