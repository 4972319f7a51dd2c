"""Settings for the bank-webhook payments service.

Every setting is read from the environment here and nowhere else. Defaults are safe for local
development (`make run`); a production deployment sets DEBUG=0 and real values (see README).
"""

import os
import warnings
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"  # noqa: S105


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value is None or value == "" else int(value)


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "adrf",
    "procrastinate.contrib.django",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "payments",
]

# Django's stock middleware as subclasses that cost an async API request no thread hop
# (core/middleware.py): sessions, auth, messages and CSRF run for ADMIN_URL only (the API is
# never cookie-authenticated); security headers and X-Frame-Options run inline, for every path.
# (CommonMiddleware is left out on purpose: its APPEND_SLASH would turn a POST to a slash-less
# URL into a redirect the bank cannot follow.)
ADMIN_URL = "admin/"
MIDDLEWARE = [
    "core.middleware.InlineSecurityMiddleware",
    "core.middleware.AsyncWhiteNoiseMiddleware",
    "core.middleware.AdminSessionMiddleware",
    "core.middleware.AdminCsrfViewMiddleware",
    "core.middleware.AdminAuthenticationMiddleware",
    "core.middleware.AdminMessageMiddleware",
    "core.middleware.InlineXFrameOptionsMiddleware",
]
# --deploy's W001-W003 look for the stock class names; payments.E009 checks the stand-ins.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]
APPEND_SLASH = False

ROOT_URLCONF = "core.urls"
ASGI_APPLICATION = "core.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/payments")
_db = conninfo_to_dict(DATABASE_URL)
# Bounded waits: a stuck lock or query ends in a rollback and a 503 the sender can retry, never
# in a request that hangs forever holding a pooled connection.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 10_000)
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 5_000)
# On when DATABASE_URL points at PgBouncer (or another pooler) in transaction mode, where
# consecutive transactions of one client may run on different server connections: no prepared
# statements (a statement prepared on one server connection is unknown on the next), no
# `options` startup parameter (PgBouncer refuses it), and the timeouts above are set with
# SET LOCAL in each money transaction instead (docs/scaling.md).
DB_TRANSACTION_POOLER = env_bool("DB_TRANSACTION_POOLER", False)
_session_options = (
    # Django prepares nothing already; this turns it off for the webhook's pool (core.db).
    {"prepare_threshold": None}
    if DB_TRANSACTION_POOLER
    else {
        "options": f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        f" -c lock_timeout={DB_LOCK_TIMEOUT_MS}"
    }
)

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
        "OPTIONS": {
            # A dead or unreachable host fails each connection attempt after this long.
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT_SECONDS", 5),
            **_session_options,
            "pool": {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2),
                "max_size": env_int("DB_POOL_MAX_SIZE", 20),
                # A request waits this long for a free connection, then gets a 503.
                "timeout": env_int("DB_POOL_TIMEOUT_SECONDS", 5),
            },
        },
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", "") or None},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Webhook processing ---------------------------------------------------------------------------

# sync: credit inside the request. background: record as pending + enqueue in one transaction,
# answer "accepted", and let `manage.py procrastinate worker` credit it (see README).
WEBHOOK_PROCESSING = env_str("WEBHOOK_PROCESSING", "sync")
if WEBHOOK_PROCESSING not in {"sync", "background"}:
    raise ValueError("WEBHOOK_PROCESSING must be 'sync' or 'background'")
# Workers write a heartbeat this often; one silent for WORKER_STALLED_AFTER_SECONDS is dead and
# the sweep (every PAYMENTS_SWEEP_CRON) puts its running jobs back in the queue.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
WORKER_STALLED_AFTER_SECONDS = env_int("WORKER_STALLED_AFTER_SECONDS", 30)
PAYMENTS_SWEEP_CRON = env_str("PAYMENTS_SWEEP_CRON", "* * * * *")
PAYMENTS_PENDING_GRACE_SECONDS = env_int("PAYMENTS_PENDING_GRACE_SECONDS", 60)
# `manage.py reconcile` fails (exit 1) and names every payment pending longer than this: by then
# its credit job has had its retries (~17 min at most) or is gone, and an operator must look.
PAYMENTS_PENDING_STALE_SECONDS = env_int("PAYMENTS_PENDING_STALE_SECONDS", 600)
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": WORKER_STALLED_AFTER_SECONDS,
    "queues": ["payments"],
}

# --- HTTP and API ---------------------------------------------------------------------------------

# Webhook bodies are a few hundred bytes; anything past this is refused with 413 before parsing.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.SafeJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- Static files (admin, Swagger UI) -------------------------------------------------------------

# WhiteNoise serves them from the app process: no CDN, no separate web server. With DEBUG on it
# finds them in the installed apps (no collectstatic for `make run`); with DEBUG off it serves
# STATIC_ROOT, filled by `collectstatic` when the Docker image is built.
STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
if DEBUG:
    # Development serves from the apps, so an empty STATIC_ROOT is expected, not worth a warning.
    warnings.filterwarnings(
        "ignore", message="No directory at", module="whitenoise|core.middleware"
    )
# WhiteNoise hands Django files as sync iterators, which Django's ASGI handler buffers (fine for
# admin and docs files) and warns about. The API never streams.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators", module="django"
)
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed (gzip) but not hashed: a manifest would make every `{% static %}` fail until
    # collectstatic has run, which `make run` and the tests never do.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- OpenAPI --------------------------------------------------------------------------------------

SPECTACULAR_SETTINGS = {
    "TITLE": "Bank webhook payments",
    "DESCRIPTION": (
        "Receives the bank's payment notifications and credits each operation to the payer "
        "organization's balance exactly once. Amounts are integers in minor units (kopecks). "
        'Every error has the shape {"error": {"code", "message", ...}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"PaymentStatusEnum": "payments.openapi.PAYMENT_STATUSES"},
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    # Swagger UI's JavaScript and CSS come from the drf-spectacular-sidecar wheel, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security -------------------------------------------------------------------------------------
# Empty lists switch verification off: development only; with DEBUG=0 the system check in
# payments/checks.py refuses to start (manage.py and uvicorn alike, see core/asgi.py).

# Standard Webhooks secrets (`whsec_<base64 key>`), comma-separated: during a rotation both the
# old and the new secret verify. Set: every delivery must be signed by one of them.
BANK_WEBHOOK_SECRETS = env_list("BANK_WEBHOOK_SECRETS", "")
# How far webhook-timestamp may lie from this server's clock, either way: a captured delivery
# cannot be replayed later than this.
WEBHOOK_TOLERANCE_SECONDS = env_int("WEBHOOK_TOLERANCE_SECONDS", 300)
# Bearer tokens for the read endpoints, comma-separated (one per client, so one can be revoked).
API_TOKENS = env_list("API_TOKENS", "")

# Response headers (SecurityMiddleware, XFrameOptionsMiddleware): nosniff, no Referer, no framing.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# TLS. Off by default because they depend on how the deployment terminates TLS (see README);
# `manage.py check --deploy` names each one that production leaves off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The admin's session and CSRF cookies travel over HTTPS only, except in development (plain
# HTTP on 127.0.0.1), where a secure-only cookie would make the admin login impossible.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# A CSRF refusal (admin forms, or a POST to a path that does not exist) in the API's JSON shape.
CSRF_FAILURE_VIEW = "core.exceptions.csrf_failure"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a proxy that terminates TLS: "HTTP_X_FORWARDED_PROTO,https" makes a request carrying
# `X-Forwarded-Proto: https` count as secure. Only if the proxy always overwrites that header,
# or a client could claim HTTPS over plain HTTP.
_proxy_ssl_header = env_list("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None


# --- Time -----------------------------------------------------------------------------------------

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

# --- Operations -----------------------------------------------------------------------------------

# /readyz waits at most this long for a pooled connection: a probe never hangs on a dead database.
HEALTH_DB_TIMEOUT_SECONDS = env_int("HEALTH_DB_TIMEOUT_SECONDS", 2)
# Set (by scripts/serve.sh) when several uvicorn workers run: each writes its metrics to files
# here and /metrics merges them. prometheus_client reads the variable itself, at import.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")

# --- Logging --------------------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json: one JSON object per line, for log collectors; plain: readable lines for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ValueError(f"LOG_FORMAT must be 'json' or 'plain', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "core.logs.plain_formatter"},
        "json": {"()": "core.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Start-up chatter (task registration); job failures still log at WARNING/ERROR.
        "procrastinate.periodic": {"level": "WARNING"},
        "procrastinate.blueprints": {"level": "WARNING"},
        # uvicorn's own lines (worker start/stop, errors) in the same format once the app is
        # loaded. Not the parent "uvicorn": configuring it would reset uvicorn.access and so
        # undo --no-access-log.
        "uvicorn.error": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
