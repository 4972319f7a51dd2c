"""The in-process benchmarks' Django: the service's own settings, its database migrated."""

import os


def django_ready(*, migrate: bool = True) -> None:
    """Set Django up with core.settings (unless DJANGO_SETTINGS_MODULE names another) and, by
    default, migrate the database the settings name, quietly."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
