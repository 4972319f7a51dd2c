"""The operator's console: money as roubles, dates in the display zone, links between
records, indexed prefix search, range filters, lists that never count a whole table.

Rendered through Django's test client; payments/tests/admin/test_browser.py walks the same pages in
a real browser against a production-configured server.
"""

import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from payments.admin.console import COUNT_CAP, CappedCountPaginator
from payments.admin.payment import PaymentAdmin
from payments.display import money_format, money_parse
from payments.models import BalanceLog, Organization, Payment
from payments.services.crediting import payment_accept, payment_process
from testsupport.deliveries import operation

pytestmark = pytest.mark.django_db

INN = "1234567890"
NBSP = "\u00a0"
# 21:00 UTC on 27 April is midnight on 28 April in Moscow.
DOCUMENT_DATE = datetime(2024, 4, 27, 21, 0, tzinfo=timezone.utc)


def credit(
    *, amount: int = 145000, inn: str = INN, document_number: str = "PAY-328", **overrides
) -> Payment:
    data = operation(amount=amount, payer_inn=inn, document_number=document_number, **overrides)
    payment_process(data=data)
    return Payment.objects.get(operation_id=data.operation_id)


def url(name: str, *args) -> str:
    return reverse(f"admin:payments_{name}", args=args)


def page(admin_client, path: str, params: dict | None = None) -> str:
    response = admin_client.get(path, params or {})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def listed(admin_client, model: str, params: dict) -> list:
    response = admin_client.get(url(f"{model}_changelist"), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# --- Money ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "shown"),
    [(145000, "1 450,00 ₽"), (5, "0,05 ₽"), (100_000_000_00, "100 000 000,00 ₽"), (0, "0,00 ₽")],
)
def test_money_reads_as_roubles_with_kopecks(minor, shown):
    assert money_format(minor) == shown.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("typed", "minor"), [("1450", 145000), ("1 450,5", 145050), ("1450.05 ₽", 145005)]
)
def test_typed_amounts_parse_to_minor_units(typed, minor):
    assert money_parse(typed) == minor


@pytest.mark.parametrize("typed", ["", "abc", "1,005", "NaN", "Infinity"])
def test_untypable_amounts_are_refused(typed):
    with pytest.raises(ValueError):
        money_parse(typed)


def test_payment_list_and_page_show_roubles_and_the_raw_minor_units(admin_client):
    payment = credit()

    listing = page(admin_client, url("payment_changelist"))
    detail = page(admin_client, url("payment_change", payment.pk))

    assert f"1{NBSP}450,00{NBSP}₽" in listing
    assert f"1{NBSP}450,00{NBSP}₽" in detail
    assert "145000 minor units" in detail


def test_balance_log_title_names_the_inn_and_operation_not_an_internal_id(admin_client):
    payment = credit()
    log = BalanceLog.objects.get()

    html = page(admin_client, url("balancelog_change", log.pk))

    title = re.search(r"<h2>(.*?)</h2>", html).group(1)
    assert title == (
        f"INN {INN} +1{NBSP}450,00{NBSP}₽ = 1{NBSP}450,00{NBSP}₽ · {payment.operation_id}"
    )


# --- Time -----------------------------------------------------------------------------------------


def test_dates_are_shown_in_the_display_time_zone_with_the_zone_named(admin_client, settings):
    settings.DISPLAY_TIME_ZONE = "Europe/Moscow"
    payment = credit()

    html = page(admin_client, url("payment_change", payment.pk))

    assert "2024-04-28 00:00:00 MSK" in html
    assert "Times in Europe/Moscow (UTC+0300)" in html


@pytest.mark.processes
def test_an_unknown_display_time_zone_stops_the_service_at_startup():
    result = subprocess.run(
        [sys.executable, "-c", "import core.settings"],
        env={**os.environ, "DISPLAY_TIME_ZONE": "Mars/Olympus_Mons"},
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    refusal = "DISPLAY_TIME_ZONE='Mars/Olympus_Mons' is refused: expected an IANA time zone"
    assert refusal in result.stderr


def test_the_api_keeps_utc_whatever_the_display_zone(client, settings):
    settings.DISPLAY_TIME_ZONE = "Europe/Moscow"
    payment = credit()

    body = client.get(f"/api/operations/{payment.operation_id}/").json()

    assert body["created_at"].endswith("Z")
    assert body["amount"] == 145000


@pytest.mark.parametrize(("zone", "found"), [("Europe/Moscow", 1), ("UTC", 0)])
def test_date_filter_counts_days_in_the_display_zone(admin_client, settings, zone, found):
    """A document dated 21:00 UTC on 27 April is on 28 April in Moscow, not in UTC."""
    settings.DISPLAY_TIME_ZONE = zone
    credit()

    rows = listed(
        admin_client,
        "payment",
        {"document_date__from": "2024-04-28", "document_date__to": "2024-04-28"},
    )

    assert len(rows) == found


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("created_at__from", "28.04.2024"), ("credited_at__to", "2024-02-30"), ("amount__to", "lots")],
)
def test_a_malformed_range_is_the_admins_error_page_not_a_500(admin_client, parameter, value):
    credit()

    response = admin_client.get(url("payment_changelist"), {parameter: value})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


# --- Links ----------------------------------------------------------------------------------------


def test_organization_page_links_to_its_payments_and_balance_log_with_counts(admin_client):
    credit()
    credit(document_number="PAY-329")
    credit(inn="9999999999")
    organization = Organization.objects.get(inn=INN)

    html = page(admin_client, url("organization_change", organization.pk))

    assert f'href="{url("payment_changelist")}?inn={INN}">2 payments</a>' in html
    assert f'href="{url("balancelog_changelist")}?inn={INN}">2 balance changes</a>' in html
    assert len(listed(admin_client, "payment", {"inn": INN})) == 2
    assert len(listed(admin_client, "balancelog", {"inn": INN})) == 2


def test_payment_balance_log_row_and_organization_link_to_each_other(admin_client):
    payment = credit()
    log = BalanceLog.objects.get()
    organization = Organization.objects.get()

    payment_page = page(admin_client, url("payment_change", payment.pk))
    log_page = page(admin_client, url("balancelog_change", log.pk))
    payment_list = page(admin_client, url("payment_changelist"))
    log_list = page(admin_client, url("balancelog_changelist"))

    for html in (payment_page, log_page, payment_list, log_list):
        assert f'href="{url("organization_change", organization.pk)}"' in html
    assert f'href="{url("balancelog_change", log.pk)}"' in payment_page
    for html in (log_page, log_list):
        assert f'href="{url("payment_change", payment.pk)}"' in html


# --- Finding things -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("operation-start", ["PAY-2"]),
        ("operation-start-no-hyphens", ["PAY-2"]),
        ("operation-start-upper-case", ["PAY-2"]),
        ("operation-whole", ["PAY-2"]),
        ("123456", ["PAY-3", "PAY-2"]),
        ("PAY-3", ["PAY-3"]),
        ("PAY", ["PAY-4", "PAY-3", "PAY-2"]),
        ("AY-3", []),
        ("12", []),
    ],
)
def test_payment_search_by_the_start_of_an_operation_id_inn_or_document_number(
    admin_client, term, expected
):
    second = credit(amount=2, document_number="PAY-2")
    credit(amount=3, document_number="PAY-3")
    credit(amount=4, document_number="PAY-4", inn="9999999999")
    start = str(second.operation_id)[:13]
    term = {
        "operation-start": start,
        "operation-start-no-hyphens": start.replace("-", ""),
        "operation-start-upper-case": start.upper(),
        "operation-whole": str(second.operation_id),
    }.get(term, term)

    found = [p.document_number for p in listed(admin_client, "payment", {"q": term})]

    assert found == expected


def test_operation_id_search_finds_exactly_the_ids_with_that_start(admin_client):
    """The start of an id is searched as a range of the uuid index: its bounds are the start
    padded with 0s and with fs, both included, and nothing beside them matches."""
    ids = {
        "below": "abbfffff-ffff-ffff-ffff-ffffffffffff",
        "first": "abc00000-0000-0000-0000-000000000000",
        "inside": "abc12345-6789-4abc-8def-0123456789ab",
        "last": "abcfffff-ffff-ffff-ffff-ffffffffffff",
        "above": "abd00000-0000-0000-0000-000000000000",
    }
    for name, operation_id in ids.items():
        credit(document_number=name, operation_id=uuid.UUID(operation_id))

    found = {p.document_number for p in listed(admin_client, "payment", {"q": "ABC"})}
    logged = {b.payment.document_number for b in listed(admin_client, "balancelog", {"q": "abc"})}

    assert found == logged == {"first", "inside", "last"}


def test_organization_search_by_part_of_an_inn(admin_client):
    credit()
    credit(inn="123456789012")
    credit(inn="9999999999")

    found = [o.inn for o in listed(admin_client, "organization", {"q": "123456"})]

    assert found == [INN, "123456789012"]


@pytest.mark.parametrize(
    ("term", "index"),
    [
        ("ccf0a86d", "payment_operation_id_key"),
        ("PAY-32", "payment_document_number_prefix"),
        ("7707", "payment_identity"),
    ],
)
def test_prefix_search_is_served_by_an_index(admin_client, rf, admin_user, term, index):
    """The search's SQL can use the prefix indexes (0004_admin_search_indexes) instead of a
    scan."""
    request = rf.get("/")
    request.user = admin_user
    queryset, _ = PaymentAdmin(Payment, None).get_search_results(
        request, Payment.objects.all(), term
    )

    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny tables are cheapest to scan: make the planner show what it can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()

    assert index in plan


def test_amount_range_filter_in_roubles(admin_client):
    credit(amount=144999, document_number="below")
    credit(amount=145000, document_number="from")
    credit(amount=200000, document_number="to")
    credit(amount=200001, document_number="above")

    rows = listed(admin_client, "payment", {"amount__from": "1450", "amount__to": "2 000,00"})

    assert sorted(p.document_number for p in rows) == ["from", "to"]


def test_organization_filters_pending_payments_and_unnamed(admin_client, settings):
    credit(inn="1111111111")
    settings.WEBHOOK_PROCESSING = "background"
    payment_accept(data=operation(amount=1, payer_inn="2222222222"))
    Organization.objects.filter(inn="1111111111").update(name="Named LLC")

    pending = listed(admin_client, "organization", {"pending": "yes"})
    unnamed = listed(admin_client, "organization", {"named": "no"})
    none_pending = listed(admin_client, "organization", {"pending": "no"})
    named = listed(admin_client, "organization", {"named": "yes"})

    assert [o.inn for o in pending] == ["2222222222"]
    assert [o.inn for o in unnamed] == ["2222222222"]
    assert [o.inn for o in none_pending] == ["1111111111"]
    assert [o.inn for o in named] == ["1111111111"]


@pytest.mark.parametrize("model", ["payment", "balancelog", "organization"])
def test_lists_never_count_a_whole_table(admin_client, model):
    """Every COUNT a list page runs is bounded by a LIMIT."""
    credit()

    with CaptureQueriesContext(connection) as queries:
        page(admin_client, url(f"{model}_changelist"))

    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts
    assert all("LIMIT" in sql for sql in counts), counts


def test_a_list_past_the_count_cap_says_more_than(admin_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "count_cap", 2)
    for number in range(3):
        credit(document_number=f"PAY-{number}")

    html = page(admin_client, url("payment_changelist"))

    assert "More than 2 payments" in html
    assert COUNT_CAP == 10_000


# --- Small things ---------------------------------------------------------------------------------


def test_renaming_an_organization_moves_its_updated_at(admin_client):
    credit()
    organization = Organization.objects.get()

    response = admin_client.post(url("organization_change", organization.pk), {"name": "New"})

    assert response.status_code == 302
    renamed = Organization.objects.get()
    assert renamed.name == "New"
    assert renamed.updated_at > organization.updated_at


def test_refused_add_is_the_admins_own_403_page(admin_client):
    response = admin_client.get(url("payment_add"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Payments console" in html
    assert "cannot be added, changed or deleted" in html


def test_header_names_the_console_and_view_site_opens_the_api_docs(admin_client, client):
    html = page(admin_client, reverse("admin:index"))

    assert "Django administration" not in html
    assert "Payments console" in html
    assert 'href="/api/docs/"' in html
    assert client.get("/api/docs/").status_code == 200
