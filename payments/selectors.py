"""Reads."""

from uuid import UUID

from payments.errors import OrganizationNotFound, PaymentNotFound
from payments.models import Organization, Payment


async def organization_balance_get(*, inn: str) -> int:
    """Return the organization's current balance in minor units; raise OrganizationNotFound."""
    balance = await Organization.objects.filter(inn=inn).values_list("balance", flat=True).afirst()
    if balance is None:
        raise OrganizationNotFound("No organization with this INN.", details={"inn": inn})
    return balance


async def payment_get(*, operation_id: UUID) -> Payment:
    """Return the payment recorded for a bank operation; raise PaymentNotFound."""
    payment = await Payment.objects.filter(operation_id=operation_id).afirst()
    if payment is None:
        raise PaymentNotFound(
            "No operation with this operation_id.", details={"operation_id": str(operation_id)}
        )
    return payment
