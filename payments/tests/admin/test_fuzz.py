"""Nothing a person can type into the admin is a 500: every registered list's filters, search
box and ordering, walked with hostile values, and the login form."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from payments.services.crediting import payment_process
from testsupport.deliveries import operation

# Each request in autocommit, as under uvicorn: a refused query does not poison the next ones.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Django's own date filters (procrastinate's, axes' admins) take a hostile date as naive.
    pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime:RuntimeWarning"),
]

HOSTILE = [
    "",
    "0",
    "-1",
    "9" * 400,
    "-" + "9" * 400,
    "1e309",
    "1e-400",
    "0.000000001",
    "NaN",
    "sNaN",
    "-sNaN",
    "Infinity",
    "-Infinity",
    "9999-12-31",
    "0001-01-01",
    "0000-00-00",
    "2024-02-30",
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "\u202eΩ😀\ufeff",
    "%_\\'\"",
    "1 450,50 ₽",
    "[]",
]
ORDERINGS = ["99", "-99", "0", "-0", "1.2.3", "x", "1.x", "9" * 50, "\x00", "-", ".", "--1"]


def changelist_parameters(model_admin, superuser) -> list[str]:
    """Every query parameter the list's filters and date hierarchy read."""
    info = model_admin.model._meta.app_label, model_admin.model._meta.model_name
    request = RequestFactory().get(reverse("admin:{}_{}_changelist".format(*info)))
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    parameters = [name for spec in changelist.filter_specs for name in spec.expected_parameters()]
    if model_admin.date_hierarchy:
        field = model_admin.date_hierarchy
        parameters += [f"{field}__year", f"{field}__month", f"{field}__day"]
    return parameters


@pytest.fixture
def ledger() -> None:
    """One credited payment, so every filter and search has rows to run against."""
    payment_process(data=operation(payer_inn="1234567890", amount=145_050))


def registered_admins() -> list:
    """Every registered admin; those of other apps (procrastinate's jobs, django-axes' logs),
    each ten seconds of requests, in `make test` only."""
    return [
        pytest.param(
            model_admin,
            id=model_admin.model._meta.label,
            marks=[] if model_admin.model._meta.app_label in OURS else [pytest.mark.slow],
        )
        for model_admin in (
            admin.site.get_model_admin(model)
            for model in apps.get_models()
            if admin.site.is_registered(model)
        )
    ]


OURS = {"payments", "auth"}


@pytest.mark.parametrize("model_admin", registered_admins())
def test_no_filter_search_or_ordering_value_is_a_500(
    client: Client, admin_user, ledger, model_admin
):
    client.force_login(admin_user)
    client.raise_request_exception = False
    info = model_admin.model._meta.app_label, model_admin.model._meta.model_name
    url = reverse("admin:{}_{}_changelist".format(*info))
    parameters = [*changelist_parameters(model_admin, admin_user), "q", "p", "e"]

    answers = {
        (name, value): client.get(url, {name: value}).status_code
        for name in parameters
        for value in HOSTILE
    }
    answers |= {("o", value): client.get(url, {"o": value}).status_code for value in ORDERINGS}

    assert {key: status for key, status in answers.items() if status >= 500} == {}


@pytest.mark.parametrize("username", ["u" * 256, "u" * 10_000, "\x00", "a\x00b", "\u202e😀"])
def test_no_login_form_value_is_a_500(client: Client, username):
    client.raise_request_exception = False

    response = client.post(
        reverse("admin:login"), {"username": username, "password": username or "x"}
    )

    assert response.status_code < 500
