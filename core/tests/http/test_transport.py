"""What a raw HTTP/1.x client can send that a library client never would: no Host, an
absolute-form target, a body announced with Expect: 100-continue. Through a real uvicorn in
production configuration, over a plain socket, so nothing is normalized on the way."""

import socket
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def _exchange(url: str, request: bytes, *, timeout: float = 10) -> bytes:
    """Send request as is; return what the server sends up to the end of its final answer
    (interim 1xx answers included), its closing, or timeout seconds of silence."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        try:
            while not _complete(received) and (chunk := sock.recv(65536)):
                received += chunk
        except TimeoutError:
            pass
    return received


def _complete(received: bytes) -> bool:
    """Whether received ends with a whole final (not 1xx) answer that declares its length."""
    while b"\r\n\r\n" in received:
        head, _, rest = received.partition(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 1"):
            received = rest
            continue
        for line in head.lower().split(b"\r\n"):
            if line.startswith(b"content-length:"):
                return len(rest) >= int(line.split(b":", 1)[1])
        return False
    return False


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("version", [b"HTTP/1.1", b"HTTP/1.0"])
def test_request_without_host_is_400(production_server_url, version):
    answer = _exchange(production_server_url, b"GET /healthz " + version + b"\r\n\r\n")

    assert _status(answer) == 400, answer
    assert b'"disallowed_host"' in answer


def test_absolute_form_target_with_a_foreign_host_is_400(production_server_url):
    authority = urlsplit(production_server_url).netloc.encode()
    request = (
        b"GET http://evil.com/healthz HTTP/1.1\r\nHost: " + authority + b"\r\n"
        b"Connection: close\r\n\r\n"
    )

    answer = _exchange(production_server_url, request)

    assert _status(answer) == 400, answer
    assert b'"disallowed_host"' in answer


def test_absolute_form_target_naming_this_server_is_served(production_server_url):
    authority = urlsplit(production_server_url).netloc.encode()
    request = (
        b"GET http://" + authority + b"/healthz HTTP/1.1\r\nHost: evil.com\r\n"
        b"Connection: close\r\n\r\n"
    )

    answer = _exchange(production_server_url, request)

    assert _status(answer) == 200, answer


def test_oversized_body_announced_with_expect_is_413_before_any_100_continue(
    production_server_url,
):
    authority = urlsplit(production_server_url).netloc.encode()
    request = (
        b"POST /api/webhook/bank/ HTTP/1.1\r\nHost: " + authority + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000000\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )

    # No body is sent: a server that waits to read it would answer only at the timeout.
    answer = _exchange(production_server_url, request, timeout=5)

    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b"100 Continue" not in answer
    assert b'"payload_too_large"' in answer
