"""Operators' view of organizations, payments and the balance log.

Money is never edited here: payments and balance-log rows are view-only (the database refuses
changes to them anyway), and an organization's balance is read-only and never written back by a
save, so a credit that lands while an operator edits the name is not lost. Nothing is deletable.

Amounts read as roubles (payments.display) with the raw minor units beside them on detail
pages, where an operator compares with the bank's data; dates read in DISPLAY_TIME_ZONE with
the zone named. Every INN and operation id links to its record, and every record to its
neighbours. Lists never count a whole table (CappedCountPaginator) and search only by prefixes
that an index serves (migration 0004_admin_search_indexes; operation ids as a range of their
unique index, 0006).
"""

import re
import uuid
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from payments.display import datetime_format, money_format, money_parse
from payments.models import BalanceLog, Organization, Payment
from payments.selectors import organization_balance_logs_recent
from payments.serializer_fields import INN_PATTERN, PAYER_INN_REGEX

RECENT_BALANCE_LOGS = 20
# Lists and link counts stop counting here: an exact COUNT(*) over millions of rows on every
# page view would be a full scan. Past it the list says "More than 10000 payments".
COUNT_CAP = 10_000
IDENTIFIER_SEARCH_HELP = (
    "The start of an operation id, a payer INN or a document number (at least 3 characters)."
)
MIN_SEARCH_LENGTH = 3

admin.site.site_header = "Payments console"
admin.site.site_title = "Payments console"
admin.site.index_title = "Organizations, payments and the balance log"
# "View site" opens the API docs: this service has no public site of its own.
admin.site.site_url = "/api/docs/"
# The app list beside every page takes a fifth of a 1366 px screen, and the payments list needs
# it; the home page and the breadcrumbs lead everywhere it does.
admin.site.enable_nav_sidebar = False


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows (a COUNT over a LIMIT subquery), so a page view costs
    the same on a thousand rows as on a hundred million."""

    count_cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.count_cap + 1].count()


def count_capped(queryset: QuerySet) -> str:
    count = queryset[: COUNT_CAP + 1].count()
    return f"more than {COUNT_CAP:,}" if count > COUNT_CAP else f"{count:,}"


def _admin_url(obj, action: str = "change") -> str:
    return reverse(f"admin:payments_{obj._meta.model_name}_{action}", args=[obj.pk])


def _changelist_url(model, **params: str) -> str:
    return reverse(f"admin:payments_{model._meta.model_name}_changelist") + "?" + urlencode(params)


def _link(url: str, text, title: str = "") -> str:
    if title:
        return format_html('<a href="{}" title="{}">{}</a>', url, title, text)
    return format_html('<a href="{}">{}</a>', url, text)


def _operation_id_range(term: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The operation ids that start with the search term, as an inclusive range, or None if the
    term cannot start one. Hyphens are optional in what the operator types.

    PostgreSQL orders uuids by their bytes, which is the order of their hex text, so the ids
    with a given start are one range of operation_id's own unique index. No second index on
    operation_id::text is needed: at ten million payments it was the largest index (563 MB)
    and cost every new payment a write to a random page of it (docs/scaling.md)."""
    hex_digits = term.lower().replace("-", "")
    if not re.fullmatch(r"[0-9a-f]{1,32}", hex_digits):
        return None
    padding = 32 - len(hex_digits)
    return uuid.UUID(hex_digits + "0" * padding), uuid.UUID(hex_digits + "f" * padding)


def _prefix_search(queryset: QuerySet, term: str, **fields: str) -> QuerySet:
    """Rows where any of the given fields starts with the term.

    Each lookup is a `LIKE 'term%'` on a column that has a text_pattern_ops/varchar_pattern_ops
    index, or a range of operation_id's unique index, so PostgreSQL answers from the indexes (a
    BitmapOr) however large the table. Django's own search would compare UPPER(column) LIKE
    '%term%', which no btree index serves. Terms shorter than MIN_SEARCH_LENGTH find nothing:
    one character would match a large part of the table.
    """
    term = term.strip()
    if not term:
        return queryset
    if len(term) < MIN_SEARCH_LENGTH:
        return queryset.none()
    matches = queryset.none()
    if "operation_id" in fields and (ids := _operation_id_range(term)):
        matches |= queryset.filter(**{f"{fields['operation_id']}__range": ids})
    if "inn" in fields and term.isascii() and term.isdigit() and len(term) <= 12:
        matches |= queryset.filter(**{f"{fields['inn']}__startswith": term})
    if "document_number" in fields:
        matches |= queryset.filter(**{f"{fields['document_number']}__startswith": term})
    return matches


# --- Filters --------------------------------------------------------------------------------------


class InnFilter(admin.SimpleListFilter):
    """`?inn=<INN>`: one organization's rows, from the links on its page. Hidden until used."""

    title = "organization (INN)"
    parameter_name = "inn"
    lookup = "organization__inn"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not re.fullmatch(INN_PATTERN, value):
            raise IncorrectLookupParameters("An INN is 10 or 12 digits.")
        return queryset.filter(**{self.lookup: value})


class PaymentInnFilter(InnFilter):
    # The payment's foreign key holds the INN itself: no join.
    lookup = "organization_id"


class RangeFilter(admin.FieldListFilter):
    """A from-to pair of inputs for one field: `?<field>__from=...&<field>__to=...`, both ends
    inclusive. Subclasses turn what was typed into the lower and the upper bound."""

    template = "admin/payments/range_filter.html"
    input_type = "text"
    placeholder = ""
    # The upper bound's lookup: `lte` for a value, `lt` when the bound is the next one up.
    upper_lookup = "lte"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.parameter_from = f"{field_path}__from"
        self.parameter_to = f"{field_path}__to"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = self.title_for(field)

    def title_for(self, field) -> str:
        return field.verbose_name

    def expected_parameters(self) -> list[str]:
        return [self.parameter_from, self.parameter_to]

    def _value(self, parameter: str) -> str:
        value = self.used_parameters.get(parameter) or ""
        return (value[-1] if isinstance(value, list) else value).strip()

    def lower_bound(self, text: str):
        raise NotImplementedError

    def upper_bound(self, text: str):
        return self.lower_bound(text)

    def queryset(self, request, queryset):
        start, end = self._value(self.parameter_from), self._value(self.parameter_to)
        try:
            if start:
                queryset = queryset.filter(**{f"{self.field_path}__gte": self.lower_bound(start)})
            if end:
                upper = f"{self.field_path}__{self.upper_lookup}"
                queryset = queryset.filter(**{upper: self.upper_bound(end)})
        except ValueError as exc:
            # The admin's "?e=1" page, not a 500.
            raise IncorrectLookupParameters(exc) from exc
        return queryset

    def choices(self, changelist):
        mine = set(self.expected_parameters())
        yield {
            "from_name": self.parameter_from,
            "from_value": self._value(self.parameter_from),
            "to_name": self.parameter_to,
            "to_value": self._value(self.parameter_to),
            "input_type": self.input_type,
            "placeholder": self.placeholder,
            # The form replaces the query string: carry the other filters, search and ordering.
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name not in mine
                for value in values
            ],
            "clear_url": changelist.get_query_string(remove=[*mine, "p"]),
            "active": any(self._value(p) for p in mine),
        }


class DateRangeFilter(RangeFilter):
    """From-to days, counted in the display time zone: "to 28 April" includes all of it."""

    input_type = "date"
    upper_lookup = "lt"

    def title_for(self, field) -> str:
        return f"{field.verbose_name} ({timezone.get_current_timezone_name()})"

    def lower_bound(self, text: str) -> datetime:
        return self._day_start(date.fromisoformat(text))

    def upper_bound(self, text: str) -> datetime:
        return self._day_start(date.fromisoformat(text) + timedelta(days=1))

    @staticmethod
    def _day_start(day: date) -> datetime:
        # zoneinfo gives the offset of that very day (summer time included).
        return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class AmountRangeFilter(RangeFilter):
    """From-to amounts in roubles (`1 450,00`)."""

    placeholder = "₽"

    def title_for(self, field) -> str:
        return f"{'change' if field.name == 'delta' else field.verbose_name} (₽)"

    def lower_bound(self, text: str) -> int:
        return money_parse(text)


class ConditionFilter(admin.SimpleListFilter):
    """Two choices: the rows where condition() holds (the first choice) or the others."""

    two_choices: tuple[tuple[str, str], tuple[str, str]]

    def condition(self):
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return list(self.two_choices)

    def queryset(self, request, queryset):
        (holds, _), (fails, _) = self.two_choices
        if self.value() == holds:
            return queryset.filter(self.condition())
        if self.value() == fails:
            return queryset.exclude(self.condition())
        return queryset


class PendingPaymentsFilter(ConditionFilter):
    title = "pending payments"
    parameter_name = "pending"
    two_choices = (("yes", "Has pending payments"), ("no", "None pending"))

    def condition(self):
        # Served by the partial index on pending payments (0004_admin_search_indexes).
        return Exists(
            Payment.objects.filter(organization_id=OuterRef("inn"), status=Payment.Status.PENDING)
        )


class UnnamedFilter(ConditionFilter):
    title = "name"
    parameter_name = "named"
    two_choices = (("no", "Unnamed"), ("yes", "Named"))

    def condition(self):
        return Q(name="")


# --- Admins ---------------------------------------------------------------------------------------


class ConsoleAdmin(admin.ModelAdmin):
    """What every list here shares: no full counts, no facet counts."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50


class ReadOnlyAdmin(ConsoleAdmin):
    """View-only: no add, change or delete for anyone, superusers included."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _money_with_minor_units(minor: int) -> str:
    return format_html(
        '{} <span class="minor-units" title="As the bank sends it">({} minor units)</span>',
        money_format(minor),
        minor,
    )


def _when(field: str, description: str, *, in_list: bool = False):
    """An admin field showing a model's datetime in the display time zone. A list column
    (in_list) sorts by it and drops the seconds, to stay narrow."""

    @admin.display(description=description, ordering=field if in_list else None)
    def show(model_admin: admin.ModelAdmin, obj) -> str:
        return datetime_format(getattr(obj, field), seconds=not in_list)

    return show


def _organization_link(organization: Organization) -> str:
    return _link(_admin_url(organization), organization.inn, organization.name)


def _payment_link(payment: Payment) -> str:
    return _link(_admin_url(payment), payment.operation_id)


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

    created_display = _when("created_at", "created")
    updated_display = _when("updated_at", "updated")
    updated_list = _when("updated_at", "updated", in_list=True)

    @admin.display(description="records")
    def records(self, obj: Organization) -> str:
        return format_html(
            "{} · {}",
            _link(_changelist_url(Payment, inn=obj.inn), "payments"),
            _link(_changelist_url(BalanceLog, inn=obj.inn), "balance log"),
        )

    @admin.display(description="payments")
    def payments_link(self, obj: Organization) -> str:
        count = count_capped(Payment.objects.filter(organization_id=obj.inn))
        pending = count_capped(
            Payment.objects.filter(organization_id=obj.inn, status=Payment.Status.PENDING)
        )
        return format_html(
            "{} · {}",
            _link(_changelist_url(Payment, inn=obj.inn), f"{count} payments"),
            _link(
                _changelist_url(Payment, inn=obj.inn, status__exact=Payment.Status.PENDING),
                f"{pending} pending",
            ),
        )

    @admin.display(description="balance log")
    def balance_logs_link(self, obj: Organization) -> str:
        count = count_capped(BalanceLog.objects.filter(organization_id=obj.pk))
        return _link(_changelist_url(BalanceLog, inn=obj.inn), f"{count} balance changes")

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
                    _link(_admin_url(log), datetime_format(log.created_at)),
                    _payment_link(log.payment),
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
            _changelist_url(BalanceLog, inn=obj.inn),
            obj.inn,
        )


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
        found = _prefix_search(
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
        return _organization_link(obj.organization)

    @admin.display(description="payer")
    def payer_detail(self, obj: Payment) -> str:
        return format_html(
            "{} {}", _organization_link(obj.organization), obj.organization.name or "(unnamed)"
        )

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        # Lists keep the minor units in a tooltip, to stay narrow.
        return format_html(
            '<span title="{} minor units">{}</span>', obj.amount, money_format(obj.amount)
        )

    @admin.display(description="amount")
    def amount_detail(self, obj: Payment) -> str:
        return _money_with_minor_units(obj.amount)

    document_date_display = _when("document_date", "document date")
    document_date_list = _when("document_date", "document date", in_list=True)
    created_list = _when("created_at", "created", in_list=True)
    credited_list = _when("credited_at", "credited", in_list=True)
    created_display = _when("created_at", "created")
    credited_display = _when("credited_at", "credited")

    @admin.display(description="balance log")
    def balance_log_link(self, obj: Payment) -> str:
        log = BalanceLog.objects.filter(payment=obj).first()
        if log is None:
            return "Not credited yet: no balance change."
        return format_html(
            "{} (balance after: {})",
            _link(
                _admin_url(log), f"+{money_format(log.delta)} on {datetime_format(log.created_at)}"
            ),
            money_format(log.balance_after),
        )


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
        found = _prefix_search(
            queryset, search_term, operation_id="payment__operation_id", inn="organization__inn"
        )
        return found, False

    created = _when("created_at", "at")
    created_list = _when("created_at", "at", in_list=True)

    @admin.display(description="organization (INN)", ordering="organization__inn")
    def organization_link(self, obj: BalanceLog) -> str:
        return _organization_link(obj.organization)

    @admin.display(description="operation")
    def operation(self, obj: BalanceLog) -> str:
        return _payment_link(obj.payment)

    @admin.display(description="change", ordering="delta")
    def delta_display(self, obj: BalanceLog) -> str:
        return "+" + money_format(obj.delta)

    @admin.display(description="balance after")
    def balance_after_display(self, obj: BalanceLog) -> str:
        return money_format(obj.balance_after)

    @admin.display(description="change")
    def delta_detail(self, obj: BalanceLog) -> str:
        return format_html("+{}", _money_with_minor_units(obj.delta))

    @admin.display(description="balance after")
    def balance_after_detail(self, obj: BalanceLog) -> str:
        return _money_with_minor_units(obj.balance_after)
