"""Commands that manage users run as the owner role: the serving role may read users but not
create or change them (payments/db_roles.py), so they are managed with the owner's login, as
migrations are."""

from core.db import db_owner_use


class OwnerRoleCommand:
    """Mixed in before a Django command: its handle() runs on DATABASE_OWNER_URL's role when set."""

    help_suffix = " Runs as DATABASE_OWNER_URL's role when set."

    def handle(self, *args, **options):
        db_owner_use(options["database"])
        return super().handle(*args, **options)
