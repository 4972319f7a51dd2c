"""Demo organizations for `make run` (manage.py seed_organizations)."""

from django.db import transaction

from payments.models import Organization


def organization_seed(*, organizations: list[tuple[str, str]]) -> list[tuple[Organization, bool]]:
    """Create each (inn, name) with a zero balance unless it exists; never touch a balance.

    Idempotent: running it again returns the same organizations with created=False.
    """
    with transaction.atomic():
        return [
            Organization.objects.get_or_create(inn=inn, defaults={"name": name})
            for inn, name in organizations
        ]
