"""What every admin of the operators' console shares: lists that never count a whole table,
view-only money records, and the columns that show money and time."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html

from payments.display import datetime_format, money_format

# Lists and link counts stop counting here: an exact COUNT(*) over millions of rows on every
# page view would be a full scan. Past it the list says "More than 10000 payments".
COUNT_CAP = 10_000


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


def money_with_minor_units(minor: int) -> str:
    return format_html(
        '{} <span class="minor-units" title="As the bank sends it">({} minor units)</span>',
        money_format(minor),
        minor,
    )


def when(field: str, description: str, *, in_list: bool = False):
    """An admin field showing a model's datetime in the display time zone. A list column
    (in_list) sorts by it and drops the seconds, to stay narrow."""

    @admin.display(description=description, ordering=field if in_list else None)
    def show(model_admin: admin.ModelAdmin, obj) -> str:
        return datetime_format(getattr(obj, field), seconds=not in_list)

    return show
