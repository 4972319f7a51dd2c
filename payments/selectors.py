"""Reads: what the API and the admin show, and the pending payments an operator must see."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from payments.errors import OrganizationNotFound, PaymentNotFound
from payments.models import CREDIT_TASK, BalanceLog, Organization, Payment


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


def organization_balance_logs_recent(*, organization_id: int, limit: int) -> list[BalanceLog]:
    """The organization's latest balance changes, newest first, with their payments."""
    return list(
        BalanceLog.objects.filter(organization_id=organization_id)
        .select_related("payment")
        # Matches the (organization, -created_at) index; id breaks ties within one instant.
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class PendingPayment:
    """A payment accepted in background mode and not credited yet."""

    operation_id: UUID
    payer_inn: str
    amount: int
    created_at: datetime
    age_seconds: int
    # The status of its latest credit job ("todo", "doing", "failed", "cancelled"...); None
    # when it has no job at all.
    job_status: str | None


PENDING_STALE = """
    SELECT p.operation_id, p.payer_inn, p.amount, p.created_at,
           floor(extract(epoch FROM now() - p.created_at))::bigint,
           (SELECT j.status::text FROM procrastinate_jobs j
            WHERE j.task_name = %(task)s AND j.args = jsonb_build_object('payment_id', p.id)
            ORDER BY j.id DESC LIMIT 1)
    FROM payment p
    WHERE p.status = 'pending' AND p.created_at < now() - make_interval(secs => %(older)s)
    ORDER BY p.created_at, p.id
"""


def payment_pending_stale_list(*, older_than_seconds: int) -> list[PendingPayment]:
    """Every payment pending for longer than older_than_seconds, oldest first, with its latest
    credit job's status: what an operator must look at (see docs/background.md)."""

    with connection.cursor() as cursor:
        cursor.execute(PENDING_STALE, {"task": CREDIT_TASK, "older": older_than_seconds})
        return [PendingPayment(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class PendingSummary:
    count: int
    oldest_age_seconds: float  # 0 when nothing is pending


async def payment_pending_summary() -> PendingSummary:
    """How many payments are pending and how long the oldest has waited."""
    row = await Payment.objects.filter(status=Payment.Status.PENDING).aaggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    oldest = row["oldest"]
    age = (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0
    return PendingSummary(count=row["count"], oldest_age_seconds=max(age, 0.0))
