"""organization_seed (manage.py seed_organizations): idempotent, and never touches a balance."""

import pytest
from django.core.management import call_command

from payments.models import Organization
from payments.services.crediting import payment_process
from testsupport.deliveries import operation

pytestmark = pytest.mark.django_db


def test_seed_creates_five_organizations_and_is_idempotent(capsys):
    call_command("seed_organizations")
    first = capsys.readouterr().out
    call_command("seed_organizations")
    second = capsys.readouterr().out

    assert Organization.objects.count() == 5
    assert set(Organization.objects.values_list("balance", flat=True)) == {0}
    assert all(len(inn) == 10 for inn in Organization.objects.values_list("inn", flat=True))
    assert first.count("created") == 5
    assert second.count("found") == 5


def test_seed_never_resets_a_balance():
    call_command("seed_organizations", count=1)
    organization = Organization.objects.get()
    payment_process(data=operation(payer_inn=organization.inn, amount=500))

    call_command("seed_organizations", count=1)

    assert Organization.objects.get().balance == 500
