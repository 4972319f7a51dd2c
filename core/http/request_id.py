"""The outermost ASGI layer: a request id on every request and every response.

It wraps everything (the body-size limit too), so every response, a 413 included, carries
X-Request-ID, and every log line of the request names it (core.observability.logs). What an
app observes of its own requests it adds as an inner layer (settings.ASGI_MIDDLEWARE).
"""

import re
import secrets
from collections.abc import Iterable

from core.http.layer import HttpLayer, Message, Receive, Scope, Send
from core.observability.logs import RequestContext, request_context

REQUEST_ID_HEADER = b"x-request-id"
# A caller's id is kept only if it is short and plain: it ends up in every log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_pick(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID if it is sane, else a new one (128 random bits, 32 hex digits:
    uuid4().hex's shape, without building a UUID per request)."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return secrets.token_hex(16)


class RequestIdMiddleware(HttpLayer):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = RequestContext(request_id=request_id_pick(scope.get("headers", ())))
        token = request_context.set(context)
        header = (REQUEST_ID_HEADER, context.request_id.encode())

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            request_context.reset(token)
