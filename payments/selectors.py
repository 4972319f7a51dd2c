"""Reads."""

from payments.errors import OrganizationNotFound
from payments.models import BalanceLog, Organization


async def organization_balance_get(*, inn: str) -> int:
    """Return the organization's current balance in minor units; raise OrganizationNotFound."""
    balance = await Organization.objects.filter(inn=inn).values_list("balance", flat=True).afirst()
    if balance is None:
        raise OrganizationNotFound("No organization with this INN.", details={"inn": inn})
    return balance


def organization_balance_logs_recent(*, organization_id: int, limit: int) -> list[BalanceLog]:
    """The organization's latest balance changes, newest first, with their payments."""
    return list(
        BalanceLog.objects.filter(organization_id=organization_id)
        .select_related("payment")
        # Matches the (organization, -created_at) index; id breaks ties within one instant.
        .order_by("-created_at", "-id")[:limit]
    )
