"""Reads."""

from payments.errors import OrganizationNotFound
from payments.models import Organization


async def organization_balance_get(*, inn: str) -> int:
    """Return the organization's current balance in minor units; raise OrganizationNotFound."""
    balance = await Organization.objects.filter(inn=inn).values_list("balance", flat=True).afirst()
    if balance is None:
        raise OrganizationNotFound("No organization with this INN.", details={"inn": inn})
    return balance
