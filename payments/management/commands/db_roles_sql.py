"""`manage.py db_roles_sql`: the SQL that sets up the two database roles on your own PostgreSQL.

It only prints; a superuser runs the output once (psql -f). `make run` and `make test` need none
of it: their embedded PostgreSQL creates both roles by itself (scripts/embedded_db.py).
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection
from psycopg.conninfo import conninfo_to_dict

from payments.db_roles import public_tables, role_quote, serving_role_grants_sql

DEFAULT_OWNER, DEFAULT_SERVING = "payments_owner", "payments_app"
# PostgreSQL's conventional superuser: a superuser even when the database cannot be asked.
BOOTSTRAP_SUPERUSER = "postgres"


def superuser(role: str) -> bool:
    """Whether role is a superuser, as the database says, or by its name when unreachable."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
            row = cursor.fetchone()
    except DatabaseError:
        return role == BOOTSTRAP_SUPERUSER
    return bool(row and row[0]) or role == BOOTSTRAP_SUPERUSER


class Command(BaseCommand):
    help = "Print the SQL creating the owner and serving roles and the serving role's grants."
    requires_system_checks = []

    def handle(self, *args, **options) -> None:
        serving_url = conninfo_to_dict(settings.DATABASE_URL)
        owner_url = conninfo_to_dict(settings.DATABASE_OWNER_URL or "")
        serving = serving_url.get("user") or DEFAULT_SERVING
        lines = []
        if superuser(serving):
            # CREATE ROLE ... NOSUPERUSER would demote the very role this connects as (the
            # default URL's "postgres"): the service gets a serving role of its own instead.
            lines.append(
                f"-- DATABASE_URL logs in as {serving}, a superuser: the service serves as a role "
                f"of its own, {DEFAULT_SERVING}; point DATABASE_URL at it once created."
            )
            serving = DEFAULT_SERVING
        owner = owner_url.get("user") or DEFAULT_OWNER
        if serving == owner:
            owner = DEFAULT_OWNER if serving != DEFAULT_OWNER else f"{serving}_owner"
        database = role_quote(serving_url.get("dbname", "payments"))
        try:
            tables = public_tables(using="default")
        except DatabaseError:
            tables = []
        lines += [
            "-- As a superuser, once. Replace both passwords; put them in DATABASE_OWNER_URL",
            "-- (migrate only) and DATABASE_URL (the server and the worker).",
            f"CREATE ROLE {role_quote(owner)} LOGIN PASSWORD 'change-me-owner';",
            f"CREATE ROLE {role_quote(serving)} LOGIN PASSWORD 'change-me-serving'"
            " NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;",
            f"ALTER DATABASE {database} OWNER TO {role_quote(owner)};",
            f"\\connect {database}",
            f"ALTER SCHEMA public OWNER TO {role_quote(owner)};",
            "-- Nobody else creates objects here (PostgreSQL 15+ already revokes it).",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
            "",
            "-- Then `manage.py migrate` (with DATABASE_OWNER_URL set) creates the tables as the",
            "-- owner and grants the serving role exactly this, every time it runs:",
        ]
        if tables:
            grants = serving_role_grants_sql(role=serving, tables=tables)
            lines += [f"--   {statement};" for statement in grants]
        else:
            lines.append("--   (connect to a migrated database to list the grants)")
        self.stdout.write("\n".join(lines))
