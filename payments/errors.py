"""Domain failures. Each has a stable code and HTTP status (core.http.exception_handler)."""

from core.errors import ApplicationError


class PaymentsError(ApplicationError):
    code = "payments_error"


class PaymentConflict(PaymentsError):
    """The operation_id is already recorded with different content."""

    status_code = 409
    code = "operation_conflict"


class BalanceOverflow(PaymentsError):
    """Crediting would overflow the balance column; nothing was recorded."""

    status_code = 422
    code = "balance_overflow"


class OrganizationNotFound(PaymentsError):
    status_code = 404
    code = "organization_not_found"


class PaymentNotFound(PaymentsError):
    status_code = 404
    code = "operation_not_found"


class WebhookSignatureInvalid(PaymentsError):
    """The delivery is not signed by the bank under a current secret within the time tolerance.

    details["reason"] says which check failed; the body was not parsed, nothing was stored.
    """

    status_code = 401
    code = "invalid_signature"
    # A 401 must name a scheme (RFC 9110); none is registered for webhook signatures.
    headers = {"WWW-Authenticate": 'StandardWebhooks realm="bank-webhook"'}


class ApiTokenInvalid(PaymentsError):
    """The request carries no bearer token, or one that is not configured in API_TOKENS."""

    status_code = 401
    code = "invalid_token"
    headers = {"WWW-Authenticate": 'Bearer realm="payments"'}
