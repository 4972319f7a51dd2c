"""Settings for the bank-webhook payments service.

Every setting is read from the environment here and nowhere else. Defaults are safe for local
development (`make run`); a production deployment sets DEBUG=0 and real values (see README).
"""

import os
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv
from psycopg.conninfo import conninfo_to_dict

BASE_DIR = Path(__file__).resolve().parent.parent

# A .env beside manage.py, if there is one (git-ignored; .env.example lists every variable), is
# read before any setting below; a variable the environment already sets wins over the file.
load_dotenv(BASE_DIR / ".env", override=False)

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


def env_secret(name: str, default: str) -> str:
    """A secret from NAME, or from the file NAME_FILE names (Docker and Kubernetes secrets).

    Setting both is refused: which one wins would be a guess. The file's trailing newline is
    not part of the secret.
    """
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return env_str(name, default)
    if os.environ.get(name):
        raise ValueError(f"Set {name} or {name}_FILE, not both")
    return Path(path).read_text().rstrip("\r\n")


def env_secret_list(name: str) -> list[str]:
    return [item.strip() for item in env_secret(name, "").split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

# ADMIN_ENABLED=0: no admin app, URL or middleware at all (an instance that only takes webhooks
# and serves reads exposes nothing else). Users, sessions and login attempts keep their tables
# either way, so switching it does not change the schema migrate builds, except the admin log.
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", True)

INSTALLED_APPS = [
    *(["django.contrib.admin"] if ADMIN_ENABLED else []),
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Its OpClass in index expressions: the admin's prefix-search indexes (payments.models).
    "django.contrib.postgres",
    "rest_framework",
    "adrf",
    "procrastinate.contrib.django",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "servestatic",
    "axes",
    "payments",
]

# Django's stock middleware as subclasses that cost an async API request no thread hop
# (core/fastpath/middleware.py): sessions, auth, messages, CSRF and login limiting run for
# ADMIN_URL only (the API is never cookie-authenticated); the Host check, security headers and
# X-Frame-Options run inline, for every path. (CommonMiddleware is left out on purpose: its
# APPEND_SLASH would turn a POST to a slash-less URL into a redirect the bank cannot follow.)
ADMIN_URL = "admin/"
MIDDLEWARE = [
    "core.fastpath.middleware.AllowedHostMiddleware",
    "core.fastpath.middleware.InlineSecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    *(
        [
            "core.fastpath.middleware.AdminSessionMiddleware",
            "core.fastpath.middleware.AdminCsrfViewMiddleware",
            "core.fastpath.middleware.AdminAuthenticationMiddleware",
            "core.fastpath.middleware.AdminMessageMiddleware",
            "core.fastpath.middleware.AdminTimeZoneMiddleware",
            # Last: it turns a lockout raised during the login into its 429 answer.
            "core.fastpath.middleware.AdminAxesMiddleware",
        ]
        if ADMIN_ENABLED
        else []
    ),
    "core.fastpath.middleware.InlineXFrameOptionsMiddleware",
]
# --deploy's W001-W003 and axes.W002 look for the stock class names; payments.E009 checks the
# stand-ins (core.fastpath.middleware).
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003", "axes.W002"]
APPEND_SLASH = False

# ASGI layers around Django, outermost first (core.stack): a request id for every response,
# then one log line and metrics per webhook delivery, then the body-size limit (so its 413 is
# observed and carries the request id too).
ASGI_MIDDLEWARE = [
    "core.observability.RequestIdMiddleware",
    "payments.observability.WebhookObservationMiddleware",
    "core.body_limit.BodySizeLimitMiddleware",
]

ROOT_URLCONF = "core.urls"
ASGI_APPLICATION = "core.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin's site-wide look (header with the display time zone, the styled 403); it
        # must win over django.contrib.admin's own templates, which APP_DIRS finds first.
        "DIRS": [BASE_DIR / "core" / "templates"],
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

# Requests and jobs connect as DATABASE_URL's role: it owns no table and holds only the
# privileges it uses. `migrate` alone connects as DATABASE_OWNER_URL's role (same database),
# which owns the tables; unset, migrate uses DATABASE_URL too (one role: see docs/security.md).
DATABASE_URL = env_secret("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/payments")
DATABASE_OWNER_URL = env_secret("DATABASE_OWNER_URL", "")
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
        # With a pool, Django checks each connection (one empty query) before handing it out, so
        # after a database restart a dead pooled connection is replaced instead of failing a
        # request. (The webhook's own pool has a cheaper check: core.db.db_connection_check.)
        "CONN_HEALTH_CHECKS": True,
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
# A credit job is retried this many times (waits 2 s, 4 s, 8 s... doubling) before it ends
# "failed"; 10 retries span about 34 minutes. procrastinate reads 0 as "for ever": at least 1.
PAYMENTS_CREDIT_RETRIES = env_int("PAYMENTS_CREDIT_RETRIES", 10)
if PAYMENTS_CREDIT_RETRIES < 1:
    raise ValueError("PAYMENTS_CREDIT_RETRIES must be at least 1")
# The sweep gives a pending payment whose credit job ended failed or cancelled a new job, at most
# this many times; after that it stays pending, counted by payments_pending_payments, until an
# operator runs `manage.py payments_requeue` (docs/background.md).
PAYMENTS_HEAL_MAX = env_int("PAYMENTS_HEAL_MAX", 3)
# `manage.py reconcile` fails (exit 1) and names every payment pending longer than this. A healthy
# worker credits within seconds; half an hour is the alert rule's threshold (docs/operations.md).
PAYMENTS_PENDING_STALE_SECONDS = env_int("PAYMENTS_PENDING_STALE_SECONDS", 1800)
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

# ServeStatic (async WhiteNoise) serves them from the app process: no CDN, no separate web
# server. With DEBUG on it finds them in the installed apps (no collectstatic for `make run`);
# with DEBUG off it serves STATIC_ROOT, filled by `collectstatic` when the Docker image is built.
STATIC_URL = "static/"
SERVESTATIC_USE_FINDERS = DEBUG
# The file index is built at startup, also in development: autorefresh would look every
# request's path up on disk in a thread (admin and Swagger UI files never change while serving).
SERVESTATIC_AUTOREFRESH = False
if DEBUG:
    # Development serves from the apps, so an empty STATIC_ROOT is expected, not worth a warning.
    warnings.filterwarnings("ignore", message="No directory at", module="servestatic")
# Where `collectstatic` puts the files a production server serves (the Docker image's default).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed (gzip) but not hashed: a manifest would make every `{% static %}` fail until
    # collectstatic has run, which `make run` and the tests never do.
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
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
    # The read endpoints' bearer token, declared so that Swagger UI offers Authorize
    # (payments/openapi.py puts it on each read endpoint).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "readToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "One of API_TOKENS, sent as `Authorization: Bearer <token>`.",
            }
        }
    },
}

# --- Security -------------------------------------------------------------------------------------
# Empty lists switch verification off: development only; with DEBUG=0 the system check in
# payments/checks.py refuses to start (manage.py and uvicorn alike, see core/asgi.py).

# Standard Webhooks secrets (`whsec_<base64 key>`), comma-separated: during a rotation both the
# old and the new secret verify. Set: every delivery must be signed by one of them.
BANK_WEBHOOK_SECRETS = env_secret_list("BANK_WEBHOOK_SECRETS")
# How far webhook-timestamp may lie from this server's clock, either way: a captured delivery
# cannot be replayed later than this.
WEBHOOK_TOLERANCE_SECONDS = env_int("WEBHOOK_TOLERANCE_SECONDS", 300)
# Bearer tokens for the read endpoints, comma-separated (one per client, so one can be revoked).
API_TOKENS = env_secret_list("API_TOKENS")

# Response headers (SecurityMiddleware, XFrameOptionsMiddleware): nosniff, no framing, and a
# Referer for this site's own pages only. Not "no-referrer": under it browsers send
# `Origin: null` on the admin's form posts, which Django's CSRF check refuses (docs/security.md).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
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


# --- Admin login limiting (django-axes) -----------------------------------------------------------

# Failed admin logins are counted per username and client address together (REMOTE_ADDR, which
# uvicorn takes from X-Forwarded-For only for FORWARDED_ALLOW_IPS): after ADMIN_LOGIN_FAILURE_LIMIT
# of them that pair gets 429 ("Account locked: too many login attempts...") until the cool-off ends
# or an operator unlocks it (`manage.py axes_reset_username <name>`, or `axes_reset` for all).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 60) / 60  # hours
AXES_RESET_ON_SUCCESS = True

# --- Time -----------------------------------------------------------------------------------------

USE_TZ = True
# Storage, logs and the API are UTC. TIME_ZONE stays UTC on purpose: Django would also apply it
# to the process (TZ) and DRF to every datetime the API returns.
TIME_ZONE = "UTC"
# The zone the admin shows every date in and counts its date filters in (an IANA name, e.g.
# Europe/Moscow); named on every admin page. Applied by
# core.fastpath.middleware.AdminTimeZoneMiddleware.
DISPLAY_TIME_ZONE = env_str("DISPLAY_TIME_ZONE", "UTC")
try:
    ZoneInfo(DISPLAY_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ValueError(
        f"DISPLAY_TIME_ZONE={DISPLAY_TIME_ZONE!r} is not an IANA time zone (e.g. Europe/Moscow)"
    ) from None
LANGUAGE_CODE = "en-us"
USE_I18N = False

# --- Operations -----------------------------------------------------------------------------------

# /readyz waits at most this long for a pooled connection: a probe never hangs on a dead database.
HEALTH_DB_TIMEOUT_SECONDS = env_int("HEALTH_DB_TIMEOUT_SECONDS", 2)
# Set (by scripts/serve.sh) when several uvicorn workers run: each writes its metrics to files
# here and /metrics merges them. prometheus_client reads the variable itself, at import.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")

# /metrics with DEBUG off: Prometheus sends `Authorization: Bearer <METRICS_TOKEN>` (its scrape
# config's `authorization: credentials_file`), or METRICS_INTERNAL_ONLY=1 declares that this port
# is reachable from the internal network only. With neither the service refuses to start.
METRICS_TOKEN = env_secret("METRICS_TOKEN", "")
METRICS_INTERNAL_ONLY = env_bool("METRICS_INTERNAL_ONLY", False)

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
        "axes.apps": {"level": "WARNING"},
        # uvicorn's own lines (worker start/stop, errors) in the same format once the app is
        # loaded. Not the parent "uvicorn": configuring it would reset uvicorn.access and so
        # undo --no-access-log.
        "uvicorn.error": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
