"""Statement lines: what each became in the ledger, linked to its payment and organization."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from payments.admin.console import ReadOnlyAdmin
from payments.admin.links import link, organization_link, payment_link
from payments.display import money_format
from statements.models import StatementLine


class DiscrepancyFilter(admin.SimpleListFilter):
    """Conflicts: lines for an operator (unconfirmed credits have their own page)."""

    title = "discrepancy"
    parameter_name = "discrepancy"

    def lookups(self, request, model_admin):
        return [("conflict", "conflicts"), ("none", "no discrepancy")]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == "conflict":
            return queryset.filter(result=StatementLine.Result.CONFLICT)
        if self.value() == "none":
            return queryset.exclude(result=StatementLine.Result.CONFLICT)
        return queryset


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    list_display = [
        "where",
        "statement_link",
        "direction",
        "amount_display",
        "payer",
        "document_number",
        "document_date",
        "result",
        "payment_display",
    ]
    list_display_links = ["where"]
    list_select_related = ["payment", "payment__organization"]
    list_filter = ["result", DiscrepancyFilter, "direction", "statement"]
    ordering = ["statement_id", "position"]
    fields = [
        "statement_link",
        "where",
        "direction",
        "amount_display",
        "currency",
        "account",
        "payer",
        "document_number",
        "document_date",
        "booking_date",
        "operation_id",
        "result",
        "differing_fields",
        "payment_display",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("payment__organization")

    @admin.display(description="statement", ordering="statement_id")
    def statement_link(self, obj: StatementLine) -> str:
        url = reverse("admin:statements_statement_change", args=[obj.statement_id])
        return link(url, f"#{obj.statement_id}")

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: StatementLine) -> str:
        return format_html(
            '<span title="{} minor units">{}</span>', obj.amount, money_format(obj.amount)
        )

    @admin.display(description="payer INN", ordering="payer_inn")
    def payer(self, obj: StatementLine) -> str:
        if obj.payment is not None:
            return organization_link(obj.payment.organization)
        return obj.payer_inn or "—"

    @admin.display(description="payment")
    def payment_display(self, obj: StatementLine) -> str:
        if obj.payment is None:
            return "—"
        return payment_link(obj.payment)
