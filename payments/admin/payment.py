"""Payments: view-only, with their payer and their balance-log row."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from payments.admin.console import ReadOnlyAdmin, money_with_minor_units, when
from payments.admin.filters import AmountRangeFilter, DateRangeFilter, PaymentInnFilter
from payments.admin.links import admin_url, link, organization_link
from payments.admin.search import IDENTIFIER_SEARCH_HELP, prefix_search
from payments.display import datetime_format, money_format
from payments.models import BalanceLog, Payment


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "operation",
        "payer",
        "amount_display",
        "document_number",
        "document_date_list",
        "status",
        "created_list",
        "credited_list",
    ]
    list_display_links = ["operation"]
    # The organization's INN and name for the payer column: one index lookup per shown row.
    list_select_related = ["organization"]
    # Shows the search box; the lookups themselves are in get_search_results.
    search_fields = ["operation_id", "organization__inn", "document_number"]
    search_help_text = IDENTIFIER_SEARCH_HELP
    list_filter = [
        "status",
        PaymentInnFilter,
        ("created_at", DateRangeFilter),
        ("credited_at", DateRangeFilter),
        ("document_date", DateRangeFilter),
        ("amount", AmountRangeFilter),
    ]
    ordering = ["-id"]
    fields = [
        "operation_id",
        "payer_detail",
        "amount_detail",
        "document_number",
        "document_date_display",
        "status",
        "created_display",
        "credited_display",
        "balance_log_link",
    ]
    readonly_fields = fields

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        found = prefix_search(
            queryset,
            search_term,
            operation_id="operation_id",
            inn="organization__inn",  # the foreign key holds the INN: no join
            document_number="document_number",
        )
        return found, False

    @admin.display(description="operation", ordering="operation_id")
    def operation(self, obj: Payment) -> str:
        # The start is what operators quote; the whole id is the tooltip and the detail page.
        text = str(obj.operation_id)
        return format_html('<span title="{}">{}…</span>', text, text[:8])

    @admin.display(description="payer INN", ordering="organization_id")
    def payer(self, obj: Payment) -> str:
        return organization_link(obj.organization)

    @admin.display(description="payer")
    def payer_detail(self, obj: Payment) -> str:
        return format_html(
            "{} {}", organization_link(obj.organization), obj.organization.name or "(unnamed)"
        )

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        # Lists keep the minor units in a tooltip, to stay narrow.
        return format_html(
            '<span title="{} minor units">{}</span>', obj.amount, money_format(obj.amount)
        )

    @admin.display(description="amount")
    def amount_detail(self, obj: Payment) -> str:
        return money_with_minor_units(obj.amount)

    document_date_display = when("document_date", "document date")
    document_date_list = when("document_date", "document date", in_list=True)
    created_list = when("created_at", "created", in_list=True)
    credited_list = when("credited_at", "credited", in_list=True)
    created_display = when("created_at", "created")
    credited_display = when("credited_at", "credited")

    @admin.display(description="balance log")
    def balance_log_link(self, obj: Payment) -> str:
        log = BalanceLog.objects.filter(payment=obj).first()
        if log is None:
            return "Not credited yet: no balance change."
        return format_html(
            "{} (balance after: {})",
            link(
                admin_url(log), f"+{money_format(log.delta)} on {datetime_format(log.created_at)}"
            ),
            money_format(log.balance_after),
        )
