"""Who may import a statement (STATEMENT_IMPORT_TOKENS) and who may read its report (those, or
a read token of API_TOKENS). Empty settings leave the endpoints open: development only, the
production system check (statements.checks) refuses to start without import tokens."""

import logging
from collections.abc import Sequence

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.http.bearer import bearer_token, token_matches
from payments.errors import ApiTokenInvalid

logger = logging.getLogger(__name__)


class HasStatementToken(BasePermission):
    """Importing needs an import token; reading a report, an import or a read token."""

    def has_permission(self, request, view) -> bool:
        tokens: Sequence[str] = settings.STATEMENT_IMPORT_TOKENS
        if request.method in SAFE_METHODS:
            tokens = [*tokens, *settings.API_TOKENS]
        if not tokens:
            return True
        token = bearer_token(request)
        if token and token_matches(token=token, tokens=tokens):
            return True
        reason = "unknown_token" if token else "missing_token"
        logger.warning(
            "statement request refused: reason=%s method=%s client=%s",
            reason,
            request.method,
            request.META.get("REMOTE_ADDR"),
        )
        raise ApiTokenInvalid(
            "A valid `Authorization: Bearer <token>` header is required.",
            details={"reason": reason},
            headers={"WWW-Authenticate": 'Bearer realm="statements"'},
        )
