"""The Host check, for every path, before anything else runs."""

import json
import logging

from asgiref.sync import markcoroutinefunction
from django.core.exceptions import DisallowedHost
from django.http import JsonResponse

from core.errors import ErrorCode
from core.http.exception_handler import error_body
from core.http.layer import HttpLayer, Receive, Scope, Send

# Django's own logger for this event, so existing log filters for it keep working.
disallowed_host_logger = logging.getLogger("django.security.DisallowedHost")


_NO_HOST = json.dumps(
    error_body(ErrorCode.DISALLOWED_HOST, "The request has no Host header.")
).encode()


class HostRequiredMiddleware(HttpLayer):
    """Answer a request without a Host header with a JSON 400 (RFC 9112 section 3.2), an ASGI
    layer because Django would judge it by the server's own address (SERVER_NAME) instead.
    An absolute-form target's host arrives as the Host header (core.http.protocol)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if any(name == b"host" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        disallowed_host_logger.warning("Request without a Host header.")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(_NO_HOST)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": _NO_HOST})


class AllowedHostMiddleware:
    """Answer a request whose Host is not in ALLOWED_HOSTS with a JSON 400, before anything else
    runs. Django checks the Host only when something calls request.get_host() (CSRF, redirects,
    absolute URLs), which the API, health and metrics paths never do."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        try:
            request.get_host()  # Django's own validation: ports, IPv6, ".example.com" patterns
        except DisallowedHost as exc:
            disallowed_host_logger.warning("%s", exc)
            return JsonResponse(
                error_body(
                    ErrorCode.DISALLOWED_HOST, "The Host header names no host this service serves."
                ),
                status=400,
            )
        return await self.get_response(request)
