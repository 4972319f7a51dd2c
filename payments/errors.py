"""Domain failures. Each has a stable code and HTTP status, rendered by core.exceptions."""


class PaymentsError(Exception):
    status_code = 400
    code = "payments_error"

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


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
