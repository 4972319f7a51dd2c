"""Reads."""

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
class OrganizationReconciliation:
    """One organization's balance next to the two records it must equal."""

    inn: str
    balance: int
    log_total: int
    credited_total: int
    log_rows: int
    credited_payments: int

    @property
    def ok(self) -> bool:
        return (
            self.balance == self.log_total == self.credited_total
            and self.log_rows == self.credited_payments
        )


@dataclass(frozen=True)
class ReconciliationReport:
    organizations: list[OrganizationReconciliation]
    # "<operation_id>: <what is wrong>" for each payment whose log row is missing or disagrees.
    payment_problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.payment_problems and all(row.ok for row in self.organizations)


# Each side is aggregated on its own before the join, so no row is counted twice.
_ORGANIZATION_TOTALS = """
    WITH logs AS (
        SELECT organization_id, sum(delta) AS total, count(*) AS n
        FROM balance_log GROUP BY organization_id
    ), credited AS (
        SELECT payer_inn, sum(amount) AS total, count(*) AS n
        FROM payment WHERE status = 'credited' GROUP BY payer_inn
    )
    SELECT o.inn, o.balance,
           coalesce(logs.total, 0), coalesce(credited.total, 0),
           coalesce(logs.n, 0), coalesce(credited.n, 0)
    FROM organization o
    LEFT JOIN logs ON logs.organization_id = o.id
    LEFT JOIN credited ON credited.payer_inn = o.inn
    ORDER BY o.inn
"""

# A credited payment must have exactly one log row, for its own payer and its own amount; a
# payment that is not credited (background mode's pending) must have none.
_PAYMENT_PROBLEMS = """
    SELECT p.operation_id::text,
           CASE
               WHEN p.status = 'credited' AND b.id IS NULL THEN 'credited but no balance_log row'
               WHEN p.status <> 'credited' AND b.id IS NOT NULL THEN
                   'balance_log row for a payment that is ' || p.status
               WHEN o.inn <> p.payer_inn THEN
                   'balance_log credits ' || o.inn || ', payer is ' || p.payer_inn
               ELSE 'balance_log delta ' || b.delta || ' <> amount ' || p.amount
           END
    FROM payment p
    LEFT JOIN balance_log b ON b.payment_id = p.id
    LEFT JOIN organization o ON o.id = b.organization_id
    WHERE (p.status = 'credited') <> (b.id IS NOT NULL)
       OR o.inn <> p.payer_inn
       OR b.delta <> p.amount
    ORDER BY p.id
"""


def reconciliation_report() -> ReconciliationReport:
    """Check every balance against its ledger, in the database: balance == sum of its
    balance-log deltas == sum of its credited payments, and each credited payment has exactly
    one log row (one per payment is also a unique constraint) matching its payer and amount.

    Read-only and safe while credits run: each check is one statement, so it reads one snapshot,
    and a credit commits its payment, log row and balance together.
    """
    with connection.cursor() as cursor:
        cursor.execute(_ORGANIZATION_TOTALS)
        organizations = [OrganizationReconciliation(*row) for row in cursor.fetchall()]
        cursor.execute(_PAYMENT_PROBLEMS)
        problems = [f"{operation_id}: {problem}" for operation_id, problem in cursor.fetchall()]
    return ReconciliationReport(organizations=organizations, payment_problems=problems)


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


_PENDING_STALE = """
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
        cursor.execute(_PENDING_STALE, {"task": CREDIT_TASK, "older": older_than_seconds})
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
