"""Imported bank statements and their lines, each line with what it became in the ledger."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Now

from payments.models import MoneyField, Payment


class Statement(models.Model):
    # Of the file's bytes: the same file imports once (statements.services.statement_import).
    sha256 = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=255, blank=True, default="")
    format = models.CharField(max_length=16)
    version = models.CharField(max_length=32)
    accounts = ArrayField(models.CharField(max_length=34))
    period_start = models.DateField()
    period_end = models.DateField()
    # When the bank produced it; None when the file does not say (then imported_at counts).
    created_at = models.DateTimeField(null=True, blank=True)
    opening_balance = MoneyField()
    closing_balance = MoneyField()
    total_incoming = MoneyField()
    total_outgoing = MoneyField()
    lines_total = models.IntegerField()
    lines_incoming = models.IntegerField()
    lines_outgoing = models.IntegerField()
    started_at = models.DateTimeField(db_default=Now())
    # Set once every line has its result; until then a repeat of the same file resumes it.
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "statement"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_start__lte=models.F("period_end")),
                name="statement_period_ordered",
            ),
        ]
        # The unconfirmed-credit rule looks for imported statements covering a day.
        indexes = [models.Index(fields=["period_start", "period_end"], name="statement_period")]

    def __str__(self) -> str:
        return f"{self.format} {self.period_start}..{self.period_end} ({', '.join(self.accounts)})"


class StatementLine(models.Model):
    class Direction(models.TextChoices):
        INCOMING = "in"
        OUTGOING = "out"

    class Result(models.TextChoices):
        MATCHED = "matched"  # the ledger had this payment (a webhook, or an earlier statement)
        CREDITED = "credited"  # nothing matched: credited by this import (a missed webhook)
        CONFLICT = "conflict"  # its operation id is recorded with another amount or payer
        OUTGOING = "outgoing"  # a debit: counted, never credited

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    position = models.IntegerField()
    where = models.CharField(max_length=64)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    account = models.CharField(max_length=34)
    # NULL: the file does not name it (such a line can match only by operation id); "" would be
    # a document number written empty, which matches exactly as written.
    payer_inn = models.CharField(max_length=12, null=True, blank=True)  # noqa: DJ001
    document_number = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    document_date = models.DateField(null=True, blank=True)
    booking_date = models.DateField(null=True, blank=True)
    operation_id = models.UUIDField(null=True, blank=True)
    # None only while its import runs.
    result = models.CharField(  # noqa: DJ001 (NULL: not settled, an index condition)
        max_length=16, choices=Result.choices, null=True, blank=True
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="statement_lines"
    )
    # A conflict's fields that differ from the payment ("amount", "payer_inn").
    differing_fields = ArrayField(models.CharField(max_length=32), default=list, blank=True)

    class Meta:
        db_table = "statement_line"
        constraints = [
            models.UniqueConstraint(
                fields=["statement", "position"], name="statement_line_position_unique"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="line_amount_positive"),
        ]
        indexes = [
            # The import's passes over the lines still without a result.
            models.Index(
                fields=["statement", "position"],
                condition=models.Q(result__isnull=True),
                name="statement_line_unsettled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.where} {self.direction} {self.amount}"
