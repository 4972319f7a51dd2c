"""`make bench --floor`: what Django's ASGI handler under this service's uvicorn costs by itself.

The service's own handler (core.http.fastpath.handler: Django's, guarded by a drift test, without
the two thread hops of Django's stock one) and one async view per endpoint: no middleware, no DRF,
no database, no signature, no log line. The webhook parses the JSON body and answers as the
service does for a new operation; the balance read answers 0. It credits nothing, so its storm's
balances never move (its verdict says so). What it costs per delivery is the part of the
service's CPU that the issue's rules keep (every delivery passes Django's ASGI handler under
uvicorn), measured beside the baseline in one run (docs/performance.md, "The floor").
"""

import json

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="floor-not-secret",  # noqa: S106 (signs nothing)
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
)


async def webhook(request, **_):
    operation_id = json.loads(request.body).get("operation_id")
    body = json.dumps({"operation_id": operation_id, "status": "credited"})
    return HttpResponse(body, content_type="application/json")


async def balance(request, inn: str):
    return HttpResponse(json.dumps({"inn": inn, "balance": 0}), content_type="application/json")


urlpatterns = [
    path("api/webhook/bank/", webhook),
    path("api/organizations/<str:inn>/balance/", balance),
]

django.setup()

from core.http.fastpath.handler import ASGIHandler  # noqa: E402 (after settings.configure)

# The service's handler, not get_asgi_application()'s: Django's stock one sends request_started
# and closes the response through sync_to_async, two thread hops a delivery that the service
# does not make, and would make the floor measure them (about 0.7 ms of CPU a delivery).
application = ASGIHandler()
