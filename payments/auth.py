"""Who may call what: the bank proves itself by signing each delivery, readers by a bearer token.

Both are DRF permissions, so protecting a view is one line (`permission_classes = [...]`), and
both run in APIView.initial(), before the view touches request.data. Each is off while its
setting is empty: development only, the production system check (payments.checks) refuses to
start without them. Settings are read per request, so tests switch them with override_settings.
"""

import logging
from collections.abc import Sequence

from django.conf import settings
from rest_framework.permissions import BasePermission

from core.http.bearer import bearer_token, token_matches
from core.private_apis import django_request
from payments.errors import ApiTokenInvalid, WebhookSignatureInvalid
from payments.webhook_signing import webhook_verify

logger = logging.getLogger(__name__)

# The signature's headers, by the lower-case name webhook_verify reads and the key of META
# (Django's: HTTP_, upper case, dashes as underscores).
_SIGNATURE_HEADERS = tuple(
    (name, "HTTP_" + name.upper().replace("-", "_"))
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
)


class HasBankWebhookSignature(BasePermission):
    """Admit a delivery only with a valid, fresh signature by the bank over the raw body bytes."""

    def has_permission(self, request, view) -> bool:
        secrets = settings.BANK_WEBHOOK_SECRETS
        if not secrets:
            return True
        # Django's request itself, and the three headers read from its META: DRF's wrapper
        # reaches each attribute through a failed lookup, and request.headers would parse every
        # header's name to give three.
        http_request = django_request(request)
        meta = http_request.META
        headers = {name: meta.get(key, "") for name, key in _SIGNATURE_HEADERS}
        try:
            # The body is the raw bytes (the 413 cap has already applied); the JSON parser runs
            # later, only for a delivery that passed.
            webhook_verify(
                secrets=secrets,
                body=http_request.body,
                headers=headers,
                tolerance_seconds=settings.WEBHOOK_TOLERANCE_SECONDS,
            )
        except WebhookSignatureInvalid as exc:
            # Never the secret or the signature; the id is the sender's, so repr() and truncated.
            logger.warning(
                "webhook refused: reason=%s webhook_id=%r client=%s",
                exc.details["reason"],
                request.headers.get("webhook-id", "")[:100],
                request.META.get("REMOTE_ADDR"),
            )
            raise
        return True


class HasApiToken(BasePermission):
    """Admit a request only with `Authorization: Bearer <token>` naming one of API_TOKENS."""

    def has_permission(self, request, view) -> bool:
        return bearer_token_require(
            request, tokens=settings.API_TOKENS, realm="payments", refused="read"
        )


def bearer_token_require(request, *, tokens: Sequence[str], realm: str, refused: str) -> bool:
    """True when tokens is empty (development) or the request bears one of them; otherwise log
    `<refused> refused` and raise ApiTokenInvalid with the RFC 6750 challenge of realm."""
    if not tokens:
        return True
    token = bearer_token(request)
    if token and token_matches(token=token, tokens=tokens):
        return True
    if token:
        reason, challenge = "unknown_token", f'Bearer realm="{realm}", error="invalid_token"'
    else:
        reason, challenge = "missing_token", f'Bearer realm="{realm}"'
    logger.warning(
        "%s refused: reason=%s method=%s path=%s client=%s",
        refused,
        reason,
        request.method,
        request.path,
        request.META.get("REMOTE_ADDR"),
    )
    raise ApiTokenInvalid(
        "A valid `Authorization: Bearer <token>` header is required.",
        details={"reason": reason},
        headers={"WWW-Authenticate": challenge},
    )
