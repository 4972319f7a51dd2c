"""Standard Webhooks signatures (https://www.standardwebhooks.com): sign a delivery, verify one.

The sender signs f"{webhook-id}.{webhook-timestamp}.{raw body}" with HMAC-SHA256 under a
secret `whsec_<base64 key>` and sends the three headers below; the signature header is a
space-separated list of `v1,<base64 digest>`, so during a key rotation one delivery can carry a
signature under each key, and the receiver can accept any of several secrets.

No Django here: the load-test tool and the bank's side import webhook_sign_headers as is.
"""

import base64
import binascii
import functools
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from typing import NoReturn

from payments.errors import WebhookSignatureInvalid

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SIGNATURE_VERSION = "v1"
MIN_SECRET_BYTES = 24  # the spec's lower bound for a secret key

# Unix seconds, as an integer; 12 digits reach the year 33658, longer is not a timestamp.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

_REASONS = {
    "missing_headers": "webhook-id, webhook-timestamp and webhook-signature are all required.",
    "bad_timestamp": "webhook-timestamp must be an integer number of Unix seconds.",
    "timestamp_out_of_tolerance": "webhook-timestamp is too far from the current time.",
    "malformed_signature": "webhook-signature holds no `v1,<base64>` signature.",
    "no_matching_signature": "No signature matches the delivery under any current secret.",
}


@functools.lru_cache(maxsize=16)  # the configured secrets, decoded once rather than per delivery
def webhook_secret_key(secret: str) -> bytes:
    """Return the HMAC key of a `whsec_<base64>` secret; raise ValueError if malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by standard base64") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"a webhook secret key has at least {MIN_SECRET_BYTES} bytes")
    return key


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    # hmac's one-shot digest: OpenSSL's, without building an HMAC object in Python.
    return hmac.digest(key, signed_content, "sha256")


def webhook_sign_headers(
    *, secret: str, body: bytes, msg_id: str, timestamp: int
) -> dict[str, str]:
    """Return the webhook-id, webhook-timestamp and webhook-signature headers for one delivery.

    `body` must be exactly the bytes sent; `timestamp` is the current Unix time in seconds.
    Raises ValueError for a malformed secret.
    """
    digest = _signature(webhook_secret_key(secret), msg_id, str(timestamp), body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}",
    }


def webhook_verify(
    *,
    secrets: Sequence[str],
    body: bytes,
    headers: Mapping[str, str],
    tolerance_seconds: int,
    now: int | None = None,
) -> str:
    """Check that the raw `body` was signed with one of `secrets` within the time tolerance.

    `headers` is looked up by lower-case name (Django's request.headers ignores case). Returns
    the webhook-id. Raises WebhookSignatureInvalid with details["reason"] naming the failure;
    raises ValueError for a malformed secret (a configuration error, caught by a system check).
    Digests are compared in constant time.
    """
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signature = headers.get("webhook-signature", "")
    if not (msg_id and timestamp and signature):
        _reject("missing_headers")
    if not _TIMESTAMP.fullmatch(timestamp):
        _reject("bad_timestamp")
    now = int(time.time()) if now is None else now
    if abs(now - int(timestamp)) > tolerance_seconds:
        _reject("timestamp_out_of_tolerance")

    candidates = _v1_signatures(signature)
    if not candidates:
        _reject("malformed_signature")
    for secret in secrets:
        expected = _signature(webhook_secret_key(secret), msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return msg_id
    _reject("no_matching_signature")


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded v1 digests in a webhook-signature header; other versions are ignored."""
    digests = []
    for entry in header.split(" "):
        version, _, value = entry.partition(",")
        if version != SIGNATURE_VERSION or not value:
            continue
        try:
            digests.append(base64.b64decode(value, validate=True))
        except binascii.Error:
            continue
    return digests


def _reject(reason: str) -> NoReturn:
    raise WebhookSignatureInvalid(_REASONS[reason], details={"reason": reason})
