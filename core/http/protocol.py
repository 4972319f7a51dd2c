"""uvicorn's HTTP/1.1 protocol (httptools), with the Host an absolute-form target names.

RFC 9112 section 3.2.2: a server that receives `GET http://host/path HTTP/1.1` must use the
target's host and ignore the Host header. uvicorn keeps only the path, so the application would
judge the request by a Host header the client chose freely, and `GET http://evil.com/healthz`
with a valid Host would be served. Here the target's host replaces the Host header before the
request reaches the application, where core.http.hosts holds it to ALLOWED_HOSTS like any other.

The server runs it through uvicorn's --http option (core.serve). It overrides
on_headers_complete, a public callback of uvicorn's HttpToolsProtocol (httptools' parser calls
it), and reads the attributes that callback itself reads (url, headers).
"""

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HostFromTargetProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        if not self.url.startswith(b"/") and self.url != b"*":
            authority = _target_authority(self.url)
            if authority is not None:
                self.headers[:] = [(n, v) for n, v in self.headers if n != b"host"]
                self.headers.append((b"host", authority))
        super().on_headers_complete()


def _target_authority(target: bytes) -> bytes | None:
    """host[:port] of an absolute-form target; None when it is not one (uvicorn refuses it)."""
    try:
        parsed = httptools.parse_url(target)
    except httptools.HttpParserInvalidURLError:
        return None
    if not parsed.host:
        return None
    host = b"[" + parsed.host + b"]" if b":" in parsed.host else parsed.host
    return host + b":" + str(parsed.port).encode() if parsed.port else host
