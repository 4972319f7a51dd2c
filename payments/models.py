"""Organizations, the payments the bank reported, and the append-only log of balance changes.

Money is an integer number of minor units (kopecks) in a BIGINT: never a float. The database,
not the application, is the last line of defence: uniqueness, positivity and PROTECT are
constraints, so no code path (including a bug or a manual SQL session) can break them silently.
"""

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Now

from payments.display import money_format


class MoneyField(models.BigIntegerField):
    """Minor units (kopecks) as a 64-bit integer; every money column shares this definition."""


class Organization(models.Model):
    inn = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=255, blank=True, default="")
    balance = MoneyField(default=0, db_default=0)
    created_at = models.DateTimeField(db_default=Now())
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "organization"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="organization_balance_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inn} {self.name}".strip()


# The procrastinate task that credits a pending payment (payments.tasks.payment_credit_job): its
# jobs are deferred and looked up by this name in procrastinate_jobs.
CREDIT_TASK = "payments.credit"


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        CREDITED = "credited"

    class Source(models.TextChoices):
        WEBHOOK = "webhook"  # the bank's notification
        STATEMENT = "statement"  # a statement line no webhook had delivered

    operation_id = models.UUIDField(unique=True)
    # True while operation_id is the uuid5 a statement line without one was given
    # (payments.services.identity.identity_operation_id): the first delivery of the same
    # business identity with a real operation id replaces it, once (the append-only trigger).
    operation_id_synthetic = models.BooleanField(default=False, db_default=False)
    source = models.CharField(max_length=16, choices=Source.choices, db_default=Source.WEBHOOK)
    # References the organization by INN so that the payment can be recorded before the
    # organization row is touched; Django creates the FK DEFERRABLE INITIALLY DEFERRED, so it is
    # checked at commit, by which time the crediting step has created the organization if needed.
    organization = models.ForeignKey(
        Organization,
        to_field="inn",
        db_column="payer_inn",
        on_delete=models.PROTECT,
        related_name="payments",
        # No index of its own: payment_identity starts with payer_inn and serves every lookup
        # by payer (the admin's prefix search, the foreign key's PROTECT check).
        db_index=False,
    )
    amount = MoneyField()
    document_number = models.CharField(max_length=64)
    document_date = models.DateTimeField()
    # document_date's calendar date in the bank's time zone (settings.BANK_TIME_ZONE), as a
    # statement writes it: the business identity matches on it.
    document_day = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, db_default=Status.CREDITED)
    created_at = models.DateTimeField(db_default=Now())
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payment"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status="pending", credited_at__isnull=True)
                    | models.Q(status="credited", credited_at__isnull=False)
                ),
                name="payment_credited_at_matches_status",
            ),
        ]
        indexes = [
            # The business identity: a statement line without an operation id is matched on it,
            # and a webhook probes it for a payment a statement credited first. payer_inn leads
            # with pattern ops, so the same index serves the admin's prefix search by INN and
            # the foreign key (which has no index of its own).
            models.Index(
                OpClass(F("organization"), name="varchar_pattern_ops"),
                F("document_number"),
                F("document_day"),
                F("amount"),
                name="payment_identity",
            ),
            # The admin's prefix search (LIKE 'abc%', payments.admin.search.prefix_search);
            # payer_inn has payment_identity, and operation_id is searched as a range of its
            # unique index.
            models.Index(
                OpClass("document_number", name="varchar_pattern_ops"),
                name="payment_document_number_prefix",
            ),
            # The admin's "has pending payments" filter; pending rows are few, so it is small.
            models.Index(
                fields=["organization"],
                condition=models.Q(status="pending"),
                name="payment_pending_by_payer",
            ),
            # The requeue (every minute) and reconcile look for pending payments by age. Pending
            # is transient and rare, so the partial index stays a few pages at any table size,
            # where a plain status index would hold every credited payment too.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="payment_pending_created_idx",
            ),
        ]

    def __str__(self) -> str:
        # The admin's titles and breadcrumbs: the operation and the INN, never an internal id.
        return f"{self.operation_id} · INN {self.organization_id} · {money_format(self.amount)}"


class BalanceLog(models.Model):
    # No index of its own: the two (organization_id, ...) indexes below and in 0005 serve every
    # lookup by organization, and a third would cost each credit one more page write (0007).
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="balance_logs", db_index=False
    )
    # One log row per credited payment: a second credit of the same payment cannot be recorded.
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="balance_log")
    delta = MoneyField()
    balance_after = MoneyField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "balance_log"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(delta__gt=0), name="balance_log_delta_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="balance_log_balance_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        # Reads the organization and the payment: select_related them where this is shown.
        return (
            f"INN {self.organization.inn} +{money_format(self.delta)} = "
            f"{money_format(self.balance_after)} · {self.payment.operation_id}"
        )
