"""The balance log: view-only, each row with its organization and payment."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from payments.admin.console import ReadOnlyAdmin, money_with_minor_units, when
from payments.admin.filters import AmountRangeFilter, DateRangeFilter, InnFilter
from payments.admin.links import organization_link, payment_link
from payments.admin.search import prefix_search
from payments.display import money_format
from payments.models import BalanceLog


@admin.register(BalanceLog)
class BalanceLogAdmin(ReadOnlyAdmin):
    list_display = [
        "created_list",
        "organization_link",
        "operation",
        "delta_display",
        "balance_after_display",
    ]
    list_display_links = ["created_list"]
    search_fields = ["payment__operation_id", "organization__inn"]
    search_help_text = (
        "The start of an operation id or an organization's INN (at least 3 characters)."
    )
    list_filter = [InnFilter, ("created_at", DateRangeFilter), ("delta", AmountRangeFilter)]
    ordering = ["-id"]
    fields = [
        "organization_link",
        "operation",
        "delta_detail",
        "balance_after_detail",
        "created",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Titles and links name the INN and the operation: the detail page needs both too.
        return super().get_queryset(request).select_related("organization", "payment")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        found = prefix_search(
            queryset, search_term, operation_id="payment__operation_id", inn="organization__inn"
        )
        return found, False

    created = when("created_at", "at")
    created_list = when("created_at", "at", in_list=True)

    @admin.display(description="organization (INN)", ordering="organization__inn")
    def organization_link(self, obj: BalanceLog) -> str:
        return organization_link(obj.organization)

    @admin.display(description="operation")
    def operation(self, obj: BalanceLog) -> str:
        return payment_link(obj.payment)

    @admin.display(description="change", ordering="delta")
    def delta_display(self, obj: BalanceLog) -> str:
        return "+" + money_format(obj.delta)

    @admin.display(description="balance after")
    def balance_after_display(self, obj: BalanceLog) -> str:
        return money_format(obj.balance_after)

    @admin.display(description="change")
    def delta_detail(self, obj: BalanceLog) -> str:
        return format_html("+{}", money_with_minor_units(obj.delta))

    @admin.display(description="balance after")
    def balance_after_detail(self, obj: BalanceLog) -> str:
        return money_with_minor_units(obj.balance_after)
