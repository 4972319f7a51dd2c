"""The test database: its URL for other processes, its roles, and reads straight from SQL."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from core.db import db_connection_kwargs, db_serving_role


def test_database_url(*, owner: bool = False) -> str:
    """The URL of the database pytest-django created, for processes started by a test: as the
    serving role (DATABASE_URL's), or as the role this session uses (the owner) if asked."""
    params = db_connection_kwargs()
    if not owner:
        serving = conninfo_to_dict(settings.DATABASE_URL)
        params.update({key: serving.get(key, "") for key in ("user", "password", "host", "port")})
    params = {key: params.get(key) for key in ("dbname", "user", "password", "host", "port")}
    return make_conninfo(**{k: v for k, v in params.items() if v})


test_database_url.__test__ = False  # a helper, not a test


def serving_role_separate() -> bool:
    """Whether servers run as a role of their own (make test: yes; one DATABASE_URL: no)."""
    owner = conninfo_to_dict(settings.DATABASE_OWNER_URL or "").get("user")
    return owner is not None and owner != db_serving_role()


serving_role_only = pytest.mark.skipif(
    not serving_role_separate(),
    reason="needs DATABASE_OWNER_URL and a separate serving role (make test sets both)",
)

# migrations/0005's ledger rules (the append-only triggers stay on).
LEDGER_TRIGGERS = {
    "organization": ["organization_balance_logged_insert", "organization_balance_logged_update"],
    "payment": ["payment_credited_has_log_insert", "payment_credited_has_log_update"],
    "balance_log": ["balance_log_checked"],
}


@sync_to_async
def count_rows(model) -> int:
    """Count in asgiref's worker thread, and give its connection back (else the test database
    cannot be dropped at the end of the session)."""
    try:
        return model.objects.count()
    finally:
        connection.close()
