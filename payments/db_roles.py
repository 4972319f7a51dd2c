"""The serving role's privileges: exactly what requests and jobs use, granted by `migrate`.

The owner role (DATABASE_OWNER_URL, `migrate` only) owns every table, so it alone can alter
them or their triggers. The serving role (DATABASE_URL) owns nothing: on the money tables it
may read, insert and make the few updates crediting makes; the ledger triggers
(payments/migrations/0005) check even those. Users, groups and permissions it may read, and
update a user's last login only: creating or changing a user takes the owner (`manage.py
createsuperuser`, `changepassword`). On the other framework tables (sessions, login attempts,
admin log, procrastinate's queue, ...) it may read and write rows. It may never TRUNCATE, and
the migration history is read-only to it. docs/security.md has the whole story.
"""

from django.db import connections, transaction

from core.db import db_serving_role

# Column lists: the organization's name is edited in the admin; the balance by a credit only;
# a login writes the user's last_login (and never rehashes its password: core.auth).
TABLE_PRIVILEGES = {
    "organization": "SELECT, INSERT, UPDATE (name, balance, updated_at)",
    "payment": "SELECT, INSERT, UPDATE (status, credited_at)",
    "balance_log": "SELECT, INSERT",
    "django_migrations": "SELECT",
    "auth_user": "SELECT, UPDATE (last_login)",
    "auth_user_groups": "SELECT",
    "auth_user_user_permissions": "SELECT",
    "auth_group": "SELECT",
    "auth_group_permissions": "SELECT",
    "auth_permission": "SELECT",
    "django_content_type": "SELECT",
}
ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


def role_quote(role: str) -> str:
    return '"' + role.replace('"', '""') + '"'


def serving_role_grants_sql(*, role: str, tables: list[str]) -> list[str]:
    """GRANT statements giving `role` what the service uses on these tables, nothing else."""
    quoted = role_quote(role)
    statements = [
        # From a clean slate, so a privilege granted by hand (or an older release) goes away.
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
    ]
    for table in sorted(tables):
        privileges = TABLE_PRIVILEGES.get(table, ROW_PRIVILEGES)
        statements.append(f"GRANT {privileges} ON {role_quote(table)} TO {quoted}")
    return statements


def public_tables(*, using: str) -> list[str]:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return [row[0] for row in cursor.fetchall()]


def serving_role_grant(*, using: str) -> str | None:
    """Grant the serving role its privileges on every table; return its name, or None when
    migrations run as that same role (one role for everything: nothing to grant)."""
    role = db_serving_role()
    connection = connections[using]
    if not role or role == connection.settings_dict["USER"]:
        return None
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement in serving_role_grants_sql(role=role, tables=public_tables(using=using)):
            cursor.execute(statement)
    return role
