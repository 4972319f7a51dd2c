"""Domain failures. Each has a stable code and HTTP status (core.http.exception_handler)."""

import enum

from core.errors import ApplicationError


class PaymentsErrorCode(str, enum.Enum):
    """Every `error.code` the payments app sends (core.errors.ErrorCode has the project's)."""

    INVALID_SIGNATURE = "invalid_signature"  # 401: the webhook's signature
    INVALID_TOKEN = "invalid_token"  # noqa: S105  401: a read's bearer token
    ORGANIZATION_NOT_FOUND = "organization_not_found"  # 404
    OPERATION_NOT_FOUND = "operation_not_found"  # 404
    OPERATION_CONFLICT = "operation_conflict"  # 409: recorded with other content
    BALANCE_OVERFLOW = "balance_overflow"  # 422: the balance column would overflow


class PaymentsError(ApplicationError):
    """The base of the app's failures; raise a subclass."""


class PaymentConflict(PaymentsError):
    """The operation_id is already recorded with different content."""

    status_code = 409
    code = PaymentsErrorCode.OPERATION_CONFLICT


class BalanceOverflow(PaymentsError):
    """Crediting would overflow the balance column; nothing was recorded."""

    status_code = 422
    code = PaymentsErrorCode.BALANCE_OVERFLOW


class OrganizationNotFound(PaymentsError):
    status_code = 404
    code = PaymentsErrorCode.ORGANIZATION_NOT_FOUND


class PaymentNotFound(PaymentsError):
    status_code = 404
    code = PaymentsErrorCode.OPERATION_NOT_FOUND


class WebhookSignatureInvalid(PaymentsError):
    """The delivery is not signed by the bank under a current secret within the time tolerance.

    details["reason"] says which check failed; the body was not parsed, nothing was stored.
    """

    status_code = 401
    code = PaymentsErrorCode.INVALID_SIGNATURE
    # A 401 must name a scheme (RFC 9110); none is registered for webhook signatures.
    headers = {"WWW-Authenticate": 'StandardWebhooks realm="bank-webhook"'}


class ApiTokenInvalid(PaymentsError):
    """The request carries no bearer token, or one that is not configured in API_TOKENS."""

    status_code = 401
    code = PaymentsErrorCode.INVALID_TOKEN
    headers = {"WWW-Authenticate": 'Bearer realm="payments"'}
