"""Who may import a statement (STATEMENT_IMPORT_TOKENS) and who may read its report (those, or
a read token of API_TOKENS). Empty settings leave the endpoints open: development only, the
production system check (statements.checks) refuses to start without import tokens."""

from collections.abc import Sequence

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from payments.auth import bearer_token_require


class HasStatementToken(BasePermission):
    """Importing needs an import token; reading a report, an import or a read token."""

    def has_permission(self, request, view) -> bool:
        tokens: Sequence[str] = settings.STATEMENT_IMPORT_TOKENS
        if request.method in SAFE_METHODS:
            tokens = [*tokens, *settings.API_TOKENS]
        return bearer_token_require(
            request, tokens=tokens, realm="statements", refused="statement request"
        )
