"""`Authorization: Bearer <token>`: read once, compared in constant time (API reads, /metrics)."""

import hashlib
import hmac
from collections.abc import Sequence

from django.http import HttpRequest


def bearer_token(request: HttpRequest) -> str:
    """The request's bearer token, or "" when it sends none (or another scheme)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(*, token: str, tokens: Sequence[str]) -> bool:
    """Whether `token` is one of `tokens`, in time independent of where or whether it matches.

    Hashing first makes every comparison the same length; no comparison stops the loop.
    """
    digest = hashlib.sha256(token.encode()).digest()
    matched = False
    for candidate in tokens:
        matched |= hmac.compare_digest(digest, hashlib.sha256(candidate.encode()).digest())
    return matched
