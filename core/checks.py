"""The project's system checks: a deployment that is unsafe whatever its apps refuses to start.

They run wherever Django's checks run: every manage.py command, and uvicorn startup when DEBUG
is off (core/asgi.py). Development (DEBUG=1) may run with the defaults; production may not.
Each app checks its own settings (payments.checks: webhook secrets, read tokens).
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connection

from core.db import db_serving_role

MIN_TOKEN_LENGTH = 32
GENERATE_HINT = 'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


def production_refusals(
    malformed: Callable[[], list[CheckMessage]], unsafe: Callable[[], list[CheckMessage]]
) -> list[CheckMessage]:
    """Malformed settings, always; missing or unsafe ones too when DEBUG is off."""
    return malformed() + ([] if settings.DEBUG else unsafe())


@register(Tags.security)
def security_settings_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    return production_refusals(_malformed_settings, _unsafe_production_settings)


def _malformed_settings() -> list[CheckMessage]:
    header = settings.SECURE_PROXY_SSL_HEADER
    if header is not None and len(header) != 2:
        return [
            Error(
                "SECURE_PROXY_SSL_HEADER must be two comma-separated values.",
                hint="For example: HTTP_X_FORWARDED_PROTO,https",
                id="core.E007",
            )
        ]
    return []


def _unsafe_production_settings() -> list[CheckMessage]:
    errors = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "DEBUG is off but SECRET_KEY is the development default.",
                hint="Set SECRET_KEY to a long random string.",
                id="core.E001",
            )
        )
    if not settings.METRICS_TOKEN and not settings.METRICS_INTERNAL_ONLY:
        errors.append(
            Error(
                "DEBUG is off but /metrics is open: neither METRICS_TOKEN nor "
                "METRICS_INTERNAL_ONLY is set.",
                hint="Set METRICS_TOKEN (Prometheus sends it as a bearer token), or "
                "METRICS_INTERNAL_ONLY=1 if this port is reachable from an internal network only.",
                id="core.E010",
            )
        )
    elif settings.METRICS_TOKEN and len(settings.METRICS_TOKEN) < MIN_TOKEN_LENGTH:
        errors.append(
            Error(
                f"METRICS_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters.",
                hint=GENERATE_HINT,
                id="core.E011",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "DEBUG is off but ALLOWED_HOSTS contains '*'.",
                hint="List the host names the service is reached by.",
                id="core.E004",
            )
        )
    return errors


_SERVING_ROLE_POWERS = """
    SELECT r.rolsuper,
           (SELECT count(*) FROM pg_tables
            WHERE schemaname = 'public' AND tableowner = r.rolname) AS tables_owned
    FROM pg_roles r WHERE r.rolname = coalesce(%s, current_user)
"""


def _serving_role_powers() -> tuple[bool, int] | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(_SERVING_ROLE_POWERS, [db_serving_role()])
            return cursor.fetchone()
    except DatabaseError:
        return None  # the database is down: /readyz reports it; this check needs it up
    finally:
        connection.close()  # this thread's connection, back to the pool


@register(Tags.database)
def serving_role_check(app_configs=None, databases=None, **kwargs) -> list[CheckMessage]:
    """With DEBUG off, warn when DATABASE_URL's role is a superuser or owns the tables: it could
    then alter, disable or drop the ledger's guards (docs/security.md, "Database roles").

    A database check: it runs where the database is meant to be reachable (`check --database
    default`, the server's startup in core/asgi.py, migrate), not in every manage.py command."""
    if settings.DEBUG or "default" not in (databases or ()):
        return []
    # uvicorn's worker processes import the app, and so run this, inside their event loop, where
    # Django refuses synchronous database access: ask from a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as thread:
        row = thread.submit(_serving_role_powers).result()
    if row is None:
        return []
    superuser, tables_owned = row
    hint = "Serve as a role that owns nothing; migrate as the owner (DATABASE_OWNER_URL)."
    warnings = []
    if superuser:
        warnings.append(
            Warning(
                "DATABASE_URL logs in as a superuser: it can bypass the ledger's guards.",
                hint=hint,
                id="core.W001",
            )
        )
    if tables_owned:
        warnings.append(
            Warning(
                f"DATABASE_URL's role owns {tables_owned} table(s): it can alter, disable or "
                "drop the ledger's guards and truncate the ledger.",
                hint=hint,
                id="core.W002",
            )
        )
    return warnings


@register(Tags.security)
def middleware_stand_ins_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    """security.W001-W003 look for Django's stock middleware by name;
    core.http.fastpath.middleware puts thread-free subclasses in their place (settings silences
    those three). This check keeps the silence honest: each stand-in must really be installed."""
    from core.http.fastpath.middleware import ADMIN_ONLY, STANDS_IN_FOR

    return [
        Error(
            f"MIDDLEWARE lacks {stand_in} (it replaces {stock}).",
            hint="Keep core.http.fastpath.middleware's stand-ins in MIDDLEWARE, or the stock "
            "one and remove its silenced check from SILENCED_SYSTEM_CHECKS.",
            id="core.E009",
        )
        for stock, stand_in in STANDS_IN_FOR.items()
        if stand_in not in settings.MIDDLEWARE
        and (settings.ADMIN_ENABLED or stock not in ADMIN_ONLY)
    ]
