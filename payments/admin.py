"""Operators' view of organizations, payments and the balance log.

Money is never edited here: payments and balance-log rows are view-only (the database refuses
changes to them anyway), and an organization's balance is read-only and never written back by a
save, so a credit that lands while an operator edits the name is not lost. Nothing is deletable.
"""

import re
import uuid
from urllib.parse import urlencode

from django.contrib import admin
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from payments.fields import INN_PATTERN, PAYER_INN_REGEX
from payments.models import BalanceLog, Organization, Payment
from payments.selectors import organization_balance_logs_recent

RECENT_BALANCE_LOGS = 20
IDENTIFIER_SEARCH_HELP = "An operation_id, a payer INN (10 or 12 digits), or a document number."


def _identifier_search(queryset: QuerySet, term: str, **lookups: str) -> QuerySet:
    """Exact, index-backed search on what the term looks like: a UUID is an operation_id,
    10 or 12 digits an INN, anything else a document number.

    Django's "=field" search would compare UPPER(column::text) on every field at once, which no
    index serves; on a payments table that is a full scan per search.
    """
    term = term.strip()
    if not term:
        return queryset
    try:
        return queryset.filter(**{lookups["operation_id"]: uuid.UUID(term)})
    except ValueError:
        pass
    if re.fullmatch(INN_PATTERN, term):
        return queryset.filter(**{lookups["inn"]: term})
    if "document_number" in lookups:
        return queryset.filter(**{lookups["document_number"]: term})
    return queryset.none()


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: no add, change or delete for anyone, superusers included."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["inn", "name", "balance", "updated_at"]
    search_fields = ["=inn", "name"]
    ordering = ["inn"]
    fields = ["inn", "name", "balance", "created_at", "updated_at", "recent_balance_logs"]
    readonly_fields = ["balance", "created_at", "updated_at", "recent_balance_logs"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # Payments reference the organization by INN, so an existing INN never changes.
        return [*self.readonly_fields, "inn"] if obj else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "inn":
            # The same rule as the webhook's payer_inn, so payments can reach this organization.
            field.validators.append(RegexValidator(PAYER_INN_REGEX, "10 or 12 digits."))
        return field

    def save_model(self, request: HttpRequest, obj: Organization, form, change: bool) -> None:
        if change:
            # Write only what the form edits: saving the whole row would write back the balance
            # read when the page was loaded, undoing any credit made since.
            obj.save(update_fields=form.changed_data)
        else:
            obj.save()

    @admin.display(description=f"Last {RECENT_BALANCE_LOGS} balance changes")
    def recent_balance_logs(self, obj: Organization) -> str:
        if obj.pk is None:
            return "-"
        logs = organization_balance_logs_recent(organization_id=obj.pk, limit=RECENT_BALANCE_LOGS)
        if not logs:
            return "No balance changes yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>+{}</td><td>{}</td></tr>",
            (
                (
                    f"{log.created_at:%Y-%m-%d %H:%M:%S} UTC",
                    log.payment.operation_id,
                    log.delta,
                    log.balance_after,
                )
                for log in logs
            ),
        )
        everything = (
            reverse("admin:payments_balancelog_changelist") + "?" + urlencode({"q": obj.inn})
        )
        return format_html(
            "<table><thead><tr><th>at</th><th>operation_id</th><th>delta</th>"
            '<th>balance after</th></tr></thead><tbody>{}</tbody></table><a href="{}">all</a>',
            rows,
            everything,
        )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "operation_id",
        "payer_inn",
        "amount",
        "document_number",
        "document_date",
        "status",
        "created_at",
        "credited_at",
    ]
    # Shows the search box; the lookups themselves are in get_search_results.
    search_fields = ["operation_id", "organization__inn", "document_number"]
    search_help_text = IDENTIFIER_SEARCH_HELP
    list_filter = ["status", "created_at", "document_date"]
    ordering = ["-id"]
    # Counting the whole table (and each filter's facets) on every page view gets slow as
    # payments grow.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        found = _identifier_search(
            queryset,
            search_term,
            operation_id="operation_id",
            inn="organization_id",
            document_number="document_number",
        )
        return found, False

    @admin.display(description="payer INN", ordering="organization_id")
    def payer_inn(self, obj: Payment) -> str:
        # The foreign key holds the INN itself (to_field="inn"): no join needed.
        return obj.organization_id


@admin.register(BalanceLog)
class BalanceLogAdmin(ReadOnlyAdmin):
    list_display = ["id", "organization", "operation_id", "delta", "balance_after", "created_at"]
    list_select_related = ["organization", "payment"]
    search_fields = ["payment__operation_id", "organization__inn"]
    search_help_text = "An operation_id or an organization's INN (10 or 12 digits)."
    list_filter = ["created_at"]
    ordering = ["-id"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        found = _identifier_search(
            queryset, search_term, operation_id="payment__operation_id", inn="organization__inn"
        )
        return found, False

    @admin.display(description="operation_id")
    def operation_id(self, obj: BalanceLog):
        return obj.payment.operation_id
