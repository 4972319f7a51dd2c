"""`manage.py migrate`, logged in as the owner role, then granting the serving role its rights.

Django's own command, run as DATABASE_OWNER_URL's role when that is set: the tables are created
by (so owned by) the owner, never by the role requests use. Afterwards the serving role is
granted exactly what payments/db_roles.py lists, for every table the migrations made.
"""

from django.core.management.commands.migrate import Command as DjangoMigrateCommand

from core.db import db_owner_use
from payments.db_roles import serving_role_grant


class Command(DjangoMigrateCommand):
    help = DjangoMigrateCommand.help + " Runs as DATABASE_OWNER_URL's role when set."

    def handle(self, *args, **options):
        database = options["database"]
        db_owner_use(database)
        super().handle(*args, **options)
        if options["plan"] or options["check_unapplied"]:
            return
        role = serving_role_grant(using=database)
        if role and options["verbosity"] >= 1:
            self.stdout.write(f"Granted the serving role {role} its privileges.")
