"""`/`: where to start, for a person or a tool that opens the service's bare address."""

from django.http import JsonResponse
from django.urls import reverse


def root(request) -> JsonResponse:
    # JSON like every other answer (no redirect: a client that follows one lands on an HTML page
    # it cannot read), naming the interactive reference and the schema.
    return JsonResponse(
        {"service": "bank-webhook-payments", "docs": reverse("docs"), "schema": reverse("schema")}
    )
