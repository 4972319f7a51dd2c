"""System checks that make an unsafe deployment refuse to start.

They run wherever Django's checks run: every manage.py command, and uvicorn startup when DEBUG
is off (core/asgi.py). Development (DEBUG=1) may run unsigned and token-less; production may not.
"""

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connection

from core.db import db_serving_role
from payments.webhook_signing import webhook_secret_key

MIN_API_TOKEN_LENGTH = 32


@register(Tags.security)
def security_settings_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Malformed security settings, always; missing or unsafe ones when DEBUG is off."""
    errors = _malformed_settings()
    if not settings.DEBUG:
        errors += _unsafe_production_settings()
    return errors


def _malformed_settings() -> list[CheckMessage]:
    errors = []
    for position, secret in enumerate(settings.BANK_WEBHOOK_SECRETS, start=1):
        try:
            webhook_secret_key(secret)
        except ValueError as exc:
            errors.append(
                Error(
                    f"BANK_WEBHOOK_SECRETS entry {position} is malformed: {exc}.",
                    hint='Generate one with: python -c "import base64, secrets; '
                    "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\"",
                    id="payments.E005",
                )
            )
    if settings.WEBHOOK_TOLERANCE_SECONDS < 1:
        errors.append(Error("WEBHOOK_TOLERANCE_SECONDS must be at least 1.", id="payments.E006"))
    header = settings.SECURE_PROXY_SSL_HEADER
    if header is not None and len(header) != 2:
        errors.append(
            Error(
                "SECURE_PROXY_SSL_HEADER must be two comma-separated values.",
                hint="For example: HTTP_X_FORWARDED_PROTO,https",
                id="payments.E007",
            )
        )
    return errors


def _unsafe_production_settings() -> list[CheckMessage]:
    errors = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "DEBUG is off but SECRET_KEY is the development default.",
                hint="Set SECRET_KEY to a long random string.",
                id="payments.E001",
            )
        )
    if not settings.BANK_WEBHOOK_SECRETS:
        errors.append(
            Error(
                "DEBUG is off but BANK_WEBHOOK_SECRETS is empty: anyone who can reach the "
                "webhook could credit any balance.",
                hint="Set BANK_WEBHOOK_SECRETS to the secret(s) the bank signs with.",
                id="payments.E002",
            )
        )
    if not settings.API_TOKENS:
        errors.append(
            Error(
                "DEBUG is off but API_TOKENS is empty: anyone could read any balance.",
                hint="Set API_TOKENS to one random token per client.",
                id="payments.E003",
            )
        )
    elif any(len(token) < MIN_API_TOKEN_LENGTH for token in settings.API_TOKENS):
        errors.append(
            Error(
                f"An API_TOKENS entry is shorter than {MIN_API_TOKEN_LENGTH} characters.",
                hint="Generate one with: "
                'python -c "import secrets; print(secrets.token_urlsafe(32))"',
                id="payments.E008",
            )
        )
    if not settings.METRICS_TOKEN and not settings.METRICS_INTERNAL_ONLY:
        errors.append(
            Error(
                "DEBUG is off but /metrics is open: neither METRICS_TOKEN nor "
                "METRICS_INTERNAL_ONLY is set.",
                hint="Set METRICS_TOKEN (Prometheus sends it as a bearer token), or "
                "METRICS_INTERNAL_ONLY=1 if this port is reachable from an internal network only.",
                id="payments.E010",
            )
        )
    elif settings.METRICS_TOKEN and len(settings.METRICS_TOKEN) < MIN_API_TOKEN_LENGTH:
        errors.append(
            Error(
                f"METRICS_TOKEN is shorter than {MIN_API_TOKEN_LENGTH} characters.",
                hint='python -c "import secrets; print(secrets.token_urlsafe(32))"',
                id="payments.E011",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "DEBUG is off but ALLOWED_HOSTS contains '*'.",
                hint="List the host names the service is reached by.",
                id="payments.E004",
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
                id="payments.W001",
            )
        )
    if tables_owned:
        warnings.append(
            Warning(
                f"DATABASE_URL's role owns {tables_owned} table(s): it can alter, disable or "
                "drop the ledger's guards and truncate the ledger.",
                hint=hint,
                id="payments.W002",
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
            id="payments.E009",
        )
        for stock, stand_in in STANDS_IN_FOR.items()
        if stand_in not in settings.MIDDLEWARE
        and (settings.ADMIN_ENABLED or stock not in ADMIN_ONLY)
    ]
