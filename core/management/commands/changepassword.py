"""`manage.py changepassword`, logged in as the owner role (DATABASE_OWNER_URL) when it is set.

The serving role may read users but not create or change them (payments/db_roles.py; this
command lives in core, listed before django.contrib.auth, so that it replaces auth's own): users are
managed by the operator with the owner's login, as migrations are.
"""

from django.contrib.auth.management.commands.changepassword import Command as DjangoCommand

from core.db import db_owner_use


class Command(DjangoCommand):
    help = DjangoCommand.help + " Runs as DATABASE_OWNER_URL's role when set."

    def handle(self, *args, **options):
        db_owner_use(options["database"])
        return super().handle(*args, **options)
