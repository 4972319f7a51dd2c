"""The list filters: one organization, from-to ranges of dates and amounts, two-way conditions."""

import re
from datetime import date, datetime, time, timedelta

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from payments.display import money_parse
from payments.models import Payment
from payments.serializer_fields import INN_PATTERN


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
        except (ValueError, ArithmeticError) as exc:
            # The admin's "?e=1" page, not a 500: not a date or an amount, or one past what
            # the type holds (the day after 9999-12-31 is an OverflowError).
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
