"""Organizations: the name is the one thing an operator edits; the balance is never written back."""

from django.contrib import admin
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from payments.admin.console import ConsoleAdmin, count_capped, when
from payments.admin.filters import PendingPaymentsFilter, UnnamedFilter
from payments.admin.links import admin_url, changelist_url, link, payment_link
from payments.display import datetime_format, money_format
from payments.models import BalanceLog, Organization, Payment
from payments.selectors import organization_balance_logs_recent
from payments.serializer_fields import PAYER_INN_REGEX

RECENT_BALANCE_LOGS = 20


@admin.register(Organization)
class OrganizationAdmin(ConsoleAdmin):
    list_display = ["inn_display", "name", "balance_display", "updated_list", "records"]
    list_display_links = ["inn_display"]
    search_fields = ["inn", "name"]
    search_help_text = "The start of an INN, or part of a name."
    list_filter = [PendingPaymentsFilter, UnnamedFilter]
    ordering = ["inn"]
    fields = [
        "inn_display",
        "name",
        "balance_display",
        "created_display",
        "updated_display",
        "payments_link",
        "balance_logs_link",
        "recent_balance_logs",
    ]
    # The name is the one thing an operator edits.
    readonly_fields = [field for field in fields if field != "name"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # A new organization has no balance, dates or records yet. Payments reference an
        # organization by INN, so an existing one shows its INN read-only: it never changes.
        return self.fields if obj else ["inn", "name"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str):
        term = search_term.strip()
        if term.isascii() and term.isdigit():
            # INN prefix: the unique index on inn has a varchar_pattern_ops twin for LIKE.
            return queryset.filter(inn__startswith=term), False
        if term:
            # Names: a scan, but of organizations, not payments.
            return queryset.filter(name__icontains=term), False
        return queryset, False

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "inn":
            # The same rule as the webhook's payer_inn, so payments can reach this organization.
            field.validators.append(RegexValidator(PAYER_INN_REGEX, "10 or 12 digits."))
            field.label = "INN"
        return field

    def save_model(self, request: HttpRequest, obj: Organization, form, change: bool) -> None:
        if change:
            if not form.changed_data:
                return
            # Write only what the form edits: saving the whole row would write back the balance
            # read when the page was loaded, undoing any credit made since.
            obj.updated_at = timezone.now()
            obj.save(update_fields=[*form.changed_data, "updated_at"])
        else:
            obj.save()

    @admin.display(description="INN", ordering="inn")
    def inn_display(self, obj: Organization) -> str:
        return obj.inn

    @admin.display(description="balance", ordering="balance")
    def balance_display(self, obj: Organization) -> str:
        if obj.pk is None:
            return "-"
        return money_format(obj.balance)

    created_display = when("created_at", "created")
    updated_display = when("updated_at", "updated")
    updated_list = when("updated_at", "updated", in_list=True)

    @admin.display(description="records")
    def records(self, obj: Organization) -> str:
        return format_html(
            "{} · {}",
            link(changelist_url(Payment, inn=obj.inn), "payments"),
            link(changelist_url(BalanceLog, inn=obj.inn), "balance log"),
        )

    @admin.display(description="payments")
    def payments_link(self, obj: Organization) -> str:
        count = count_capped(Payment.objects.filter(organization_id=obj.inn))
        pending = count_capped(
            Payment.objects.filter(organization_id=obj.inn, status=Payment.Status.PENDING)
        )
        return format_html(
            "{} · {}",
            link(changelist_url(Payment, inn=obj.inn), f"{count} payments"),
            link(
                changelist_url(Payment, inn=obj.inn, status__exact=Payment.Status.PENDING),
                f"{pending} pending",
            ),
        )

    @admin.display(description="balance log")
    def balance_logs_link(self, obj: Organization) -> str:
        count = count_capped(BalanceLog.objects.filter(organization_id=obj.pk))
        return link(changelist_url(BalanceLog, inn=obj.inn), f"{count} balance changes")

    @admin.display(description=f"Last {RECENT_BALANCE_LOGS} balance changes")
    def recent_balance_logs(self, obj: Organization) -> str:
        logs = organization_balance_logs_recent(organization_id=obj.pk, limit=RECENT_BALANCE_LOGS)
        if not logs:
            return "No balance changes yet."
        rows = format_html_join(
            "",
            '<tr><td>{}</td><td>{}</td><td class="money">+{}</td><td class="money">{}</td></tr>',
            (
                (
                    link(admin_url(log), datetime_format(log.created_at)),
                    payment_link(log.payment),
                    money_format(log.delta),
                    money_format(log.balance_after),
                )
                for log in logs
            ),
        )
        return format_html(
            '<table class="recent-balance-logs"><thead><tr><th>at ({})</th><th>operation</th>'
            "<th>change</th><th>balance after</th></tr></thead><tbody>{}</tbody></table>"
            '<a href="{}">The whole balance log of {}</a>',
            timezone.get_current_timezone_name(),
            rows,
            changelist_url(BalanceLog, inn=obj.inn),
            obj.inn,
        )
