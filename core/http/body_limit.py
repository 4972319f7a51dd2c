"""ASGI middleware that refuses request bodies over MAX_REQUEST_BODY_BYTES with 413.

Django's ASGI handler reads the whole body (to a temporary file) before any view or middleware
runs, and uvicorn sets no limit, so the cap has to sit in front of Django. Bodies here are tiny,
so buffering up to the cap and replaying it to Django is cheap. A body over the cap is read on
and thrown away (up to DRAIN_FACTOR times the cap) before the 413 goes out: a server that
answers and closes while the client is still sending makes the client see a connection reset
instead of the 413. A client that announced its body with `Expect: 100-continue` and a length
over the cap is answered before any of it is read (and before uvicorn's `100 Continue`).

Having read the whole body, it also declares its length: a chunked request (`Transfer-Encoding:
chunked`, no Content-Length, as streaming HTTP clients and proxies send) reaches Django with a
Content-Length, as RFC 9112 section 7.1.3 describes for a recipient that decodes the chunks.
DRF reads a body only as far as CONTENT_LENGTH and would otherwise parse nothing.
"""

import json

from django.conf import settings

from core.errors import ErrorCode
from core.http.exception_handler import PAYLOAD_TOO_LARGE_MESSAGE, error_body
from core.http.layer import HttpLayer, Message, Receive, Scope, Send

_TOO_LARGE = json.dumps(error_body(ErrorCode.PAYLOAD_TOO_LARGE, PAYLOAD_TOO_LARGE_MESSAGE)).encode()


DRAIN_FACTOR = 16

# Replaced by the real length once the body is read.
_LENGTH_HEADERS = (b"content-length", b"transfer-encoding")


class BodySizeLimitMiddleware(HttpLayer):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = settings.MAX_REQUEST_BODY_BYTES
        declared = _declared_length(scope)
        if declared > limit and _expects_continue(scope):
            # Before the first receive(): uvicorn sends "100 Continue" only then, so the client
            # is told no before it sends a byte of the body.
            await _reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body and size <= limit * DRAIN_FACTOR:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more_body = message.get("more_body", False)
            if size <= limit:
                chunks.append(chunk)
        if size > limit or declared > limit:
            await _reject(send)
            return
        body = b"".join(chunks)
        if declared != len(body):
            scope = {**scope, "headers": _length_declared(scope["headers"], len(body))}
        await self.app(scope, _replay(body, receive), send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _expects_continue(scope: Scope) -> bool:
    return any(
        name == b"expect" and value.lower() == b"100-continue"
        for name, value in scope.get("headers", [])
    )


def _length_declared(headers: list, length: int) -> list:
    """headers with the body's real length in place of any length or transfer coding."""
    kept = [(name, value) for name, value in headers if name not in _LENGTH_HEADERS]
    return [*kept, (b"content-length", str(length).encode())]


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # Later calls wait for the client to disconnect, as the real receive does.
        return await receive()

    return replay


async def _reject(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE})
