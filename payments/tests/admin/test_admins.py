"""The admin: pages load for a superuser, money rows cannot be added, edited or deleted."""

from unittest import mock

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from core.http.fastpath.middleware import AdminSessionMiddleware
from payments.admin.organization import OrganizationAdmin
from payments.models import BalanceLog, Organization, Payment
from payments.services.crediting import payment_process
from testsupport.api import WEBHOOK
from testsupport.deliveries import operation

pytestmark = pytest.mark.django_db

INN = "1234567890"


def credit(**overrides) -> str:
    """Credit a fresh operation through the real service; return its operation_id."""
    data = operation(**{"payer_inn": INN, **overrides})
    payment_process(data=data)
    return str(data.operation_id)


def url(name: str, *args) -> str:
    return reverse(f"admin:payments_{name}", args=args)


@pytest.fixture
def organization() -> Organization:
    credit(amount=1000, document_number="PAY-1")
    return Organization.objects.get(inn=INN)


@pytest.mark.parametrize("model", ["organization", "payment", "balancelog"])
def test_changelist_loads_for_a_superuser(admin_client: Client, organization, model):
    response = admin_client.get(url(f"{model}_changelist"))

    assert response.status_code == 200
    assert INN in response.content.decode()


def test_admin_requires_login(client: Client):
    response = client.get(url("payment_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("operation_id", ["PAY-2"]),
        ("inn", ["PAY-3", "PAY-2"]),
        ("PAY-3", ["PAY-3"]),
        ("no-such-document", []),
    ],
)
def test_payment_search_by_operation_id_inn_or_document_number(admin_client, term, expected):
    second = credit(amount=2, document_number="PAY-2")
    credit(amount=3, document_number="PAY-3")
    credit(amount=4, document_number="PAY-4", payer_inn="9999999999")
    query = {"operation_id": second, "inn": INN}.get(term, term)

    response = admin_client.get(url("payment_changelist"), {"q": query})

    found = [p.document_number for p in response.context["cl"].result_list]
    assert found == expected


def test_payment_filters_by_status(admin_client, organization):
    credited = admin_client.get(url("payment_changelist"), {"status__exact": "credited"})
    pending = admin_client.get(url("payment_changelist"), {"status__exact": "pending"})

    assert len(credited.context["cl"].result_list) == 1
    assert len(pending.context["cl"].result_list) == 0


def test_organization_page_shows_its_last_20_balance_changes(admin_client, organization):
    later = [credit(amount=10 + i, document_number=f"PAY-{i}") for i in range(24)]
    oldest_shown, newest = later[-20], later[-1]

    response = admin_client.get(url("organization_change", organization.pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert newest in html
    assert oldest_shown in html
    assert later[-21] not in html
    assert html.count('<td class="money">+') == 20


@pytest.mark.parametrize("model", ["payment", "balancelog"])
def test_money_rows_cannot_be_added(admin_client, model):
    assert admin_client.get(url(f"{model}_add")).status_code == 403
    assert admin_client.post(url(f"{model}_add"), {}).status_code == 403


@pytest.mark.parametrize("model", [Payment, BalanceLog])
def test_money_rows_cannot_be_changed_or_deleted(admin_client, organization, model):
    row = model.objects.get()
    name = model._meta.model_name

    view = admin_client.get(url(f"{name}_change", row.pk))
    change = admin_client.post(url(f"{name}_change", row.pk), {"amount": 1, "delta": 1})
    delete = admin_client.post(url(f"{name}_delete", row.pk), {"post": "yes"})
    bulk_delete = admin_client.post(
        url(f"{name}_changelist"), {"action": "delete_selected", "_selected_action": [row.pk]}
    )

    assert view.status_code == 200  # read-only view
    assert b'name="_save"' not in view.content
    assert change.status_code == 403
    assert delete.status_code == 403
    assert bulk_delete.status_code == 200  # redisplayed: no such action
    assert model.objects.get(pk=row.pk).pk == row.pk
    assert Payment.objects.get().amount == 1000


def test_organization_cannot_be_deleted(admin_client, organization):
    response = admin_client.post(url("organization_delete", organization.pk), {"post": "yes"})

    assert response.status_code == 403
    assert Organization.objects.filter(pk=organization.pk).exists()


def test_organization_can_be_added_with_a_zero_balance(admin_client):
    invalid = admin_client.post(url("organization_add"), {"inn": "12345", "name": "Short"})
    valid = admin_client.post(url("organization_add"), {"inn": "7707083893", "name": "New LLC"})

    assert invalid.status_code == 200  # the form again, with the error
    assert "10 or 12 digits." in invalid.content.decode()
    assert valid.status_code == 302
    assert list(Organization.objects.values_list("inn", "name", "balance")) == [
        ("7707083893", "New LLC", 0)
    ]


def test_organization_edit_changes_the_name_never_the_balance(admin_client, organization):
    response = admin_client.post(
        url("organization_change", organization.pk),
        {"name": "Renamed LLC", "balance": 999_999, "inn": "0000000000"},
    )

    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.inn, organization.name, organization.balance) == (
        INN,
        "Renamed LLC",
        1000,
    )


def test_credit_landing_while_the_organization_is_edited_is_not_lost(admin_client, organization):
    """The form reads the row, a payment is credited, then the form saves."""
    read_row = OrganizationAdmin.get_object

    def read_then_credit(self, *args, **kwargs):
        obj = read_row(self, *args, **kwargs)
        credit(amount=500, document_number="PAY-during-edit")
        return obj

    with mock.patch.object(OrganizationAdmin, "get_object", read_then_credit):
        response = admin_client.post(
            url("organization_change", organization.pk), {"name": "Renamed LLC"}
        )

    assert response.status_code == 302
    organization.refresh_from_db()
    assert (organization.name, organization.balance) == ("Renamed LLC", 1500)


SESSION_CASES = [(WEBHOOK, False), ("/admin/login/", True)]


@pytest.mark.parametrize(("path", "has_session"), SESSION_CASES)
def test_session_middleware_runs_for_the_admin_only(path, has_session):
    seen = []
    middleware = AdminSessionMiddleware(lambda request: seen.append(request) or HttpResponse())

    middleware(RequestFactory().get(path))

    assert hasattr(seen[0], "session") is has_session


@pytest.mark.parametrize(("path", "has_session"), SESSION_CASES)
async def test_session_middleware_runs_for_the_admin_only_under_asgi(path, has_session):
    seen = []

    async def view(request):
        seen.append(request)
        return HttpResponse()

    await AdminSessionMiddleware(view)(RequestFactory().get(path))

    assert hasattr(seen[0], "session") is has_session


@pytest.mark.django_db(transaction=True)
async def test_admin_forms_still_require_a_csrf_token_under_asgi(asgi_client):
    """CSRF runs for the admin only (core.http.fastpath.middleware.AdminCsrfViewMiddleware): a login
    POST without the token is refused, as with Django's stock middleware, on the admin's page."""
    response = await asgi_client.post(
        "/admin/login/", data={"username": "x", "password": "y"}, headers={"Referer": ""}
    )

    assert response.status_code == 403
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Form refused" in response.text


@pytest.mark.django_db(transaction=True)
async def test_api_responses_carry_security_headers_under_asgi(asgi_client):
    """The inline (thread-free) security and X-Frame-Options middleware still set headers."""
    response = await asgi_client.get("/api/organizations/1234567890/balance/")

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
