"""Nothing a person types into the admin is a 500 (docs/security.md, "Admin").

The admin of this project and the admins third-party apps register (procrastinate's jobs,
django-axes' attempts, Django's users) all pass values from the query string to PostgreSQL: a NUL
character, which no PostgreSQL text holds, a value outside an enum, or a date past year 9999
(Django's date hierarchy catches ValueError there, not OverflowError) would be a 500. Here they
are a 400 page naming the problem instead. Admin paths only: the API pays nothing for it.
"""

import decimal
import logging

from django.db import DataError
from django.utils.deprecation import MiddlewareMixin

from core.http.exception_handler import admin_refusal
from core.http.fastpath.middleware import AdminOnlyMixin

logger = logging.getLogger(__name__)

# Errors only what was typed can cause in a read: PostgreSQL's class 22 "data exception"
# (DataError: a NUL, an invalid enum value, a number out of range) and Python's arithmetic
# on such values (OverflowError, decimal.InvalidOperation are ArithmeticErrors).
INPUT_ERRORS = (DataError, ArithmeticError, decimal.InvalidOperation)


def _holds_nul(query) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in query.lists()
    )


class AdminInputMiddleware(AdminOnlyMixin, MiddlewareMixin):
    def process_request(self, request):
        if _holds_nul(request.GET) or (request.method == "POST" and _holds_nul(request.POST)):
            return self._refusal(request, "a NUL character, which no field can hold")
        return None

    def process_exception(self, request, exception):
        if not isinstance(exception, INPUT_ERRORS):
            return None
        logger.warning(
            "admin input refused", extra={"path": request.path, "error": type(exception).__name__}
        )
        return self._refusal(request, "a value the database cannot compare or store")

    @staticmethod
    def _refusal(request, what: str):
        return admin_refusal(
            request,
            title="Request refused",
            explanation=f"This request holds {what}. Go back, correct the filter, search or "
            "form field, and try again.",
            status=400,
        )
