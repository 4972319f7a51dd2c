"""PostgreSQL: two pooled connections per worker process (Django's and the webhook's)."""

from psycopg.conninfo import conninfo_to_dict

from core.settings import env
from core.settings.env import (  # noqa: F401 (settings, read as they are)
    DATABASE_OWNER_URL,
    DATABASE_URL,
    DB_LOCK_TIMEOUT_MS,
    DB_STATEMENT_TIMEOUT_MS,
    DB_TRANSACTION_POOLER,
)

# Behind a transaction pooler consecutive transactions of one client may run on different
# server connections: no prepared statements (a statement prepared on one server connection is
# unknown on the next), no `options` startup parameter (PgBouncer refuses it), and the timeouts
# above are set with SET LOCAL in each money transaction instead (docs/scaling.md).
_session_options = (
    # Django prepares nothing already; this turns it off for the webhook's pool (core.db).
    {"prepare_threshold": None}
    if DB_TRANSACTION_POOLER
    else {
        "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        f" -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
    }
)
_db = conninfo_to_dict(DATABASE_URL)

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.get("dbname", "payments"),
        "USER": _db.get("user", "postgres"),
        "PASSWORD": _db.get("password", ""),
        "HOST": _db.get("host", ""),
        "PORT": _db.get("port", ""),
        # ASGI runs each request's sync work on a fresh thread: persistent per-thread connections
        # would leak, so connections come from psycopg's pool instead (which requires 0 here).
        "CONN_MAX_AGE": 0,
        # With a pool, Django checks each connection (one empty query) before handing it out, so
        # after a database restart a dead pooled connection is replaced instead of failing a
        # request. (The webhook's own pool has a cheaper check: core.db.db_connection_check.)
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # A dead or unreachable host fails each connection attempt after this long.
            "connect_timeout": env.DB_CONNECT_TIMEOUT_SECONDS,
            **_session_options,
            "pool": {
                "min_size": env.DB_POOL_MIN_SIZE,
                "max_size": env.DB_POOL_MAX_SIZE,
                "timeout": env.DB_POOL_TIMEOUT_SECONDS,
            },
        },
        "TEST": {"NAME": env.TEST_DATABASE_NAME or None},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
