"""Settings for the bank-webhook payments service.

Every setting is read from the environment here and nowhere else. Defaults are safe for local
development (`make run`); a production deployment sets DEBUG=0 and real values (see README).
"""

import os
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
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "adrf",
    "payments",
]

# An API with no sessions, cookies or templates needs only this. (CommonMiddleware's
# APPEND_SLASH would turn a POST to a slash-less URL into a redirect the bank cannot follow.)
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
]
APPEND_SLASH = False

ROOT_URLCONF = "core.urls"
ASGI_APPLICATION = "core.asgi.application"
TEMPLATES: list[dict] = []

# --- Database -------------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/payments")
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
        "OPTIONS": {
            # A dead or unreachable host fails each connection attempt after this long.
            "connect_timeout": env_int("DB_CONNECT_TIMEOUT_SECONDS", 5),
            # Bounded waits: a stuck lock or query ends in a rollback and a 503 the sender can
            # retry, never in a request that hangs forever holding a pooled connection.
            "options": (
                f"-c statement_timeout={env_int('DB_STATEMENT_TIMEOUT_MS', 10_000)}"
                f" -c lock_timeout={env_int('DB_LOCK_TIMEOUT_MS', 5_000)}"
            ),
            "pool": {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2),
                "max_size": env_int("DB_POOL_MAX_SIZE", 20),
                # A request waits this long for a free connection, then gets a 503.
                "timeout": env_int("DB_POOL_TIMEOUT_SECONDS", 10),
            },
        },
        "TEST": {"NAME": env_str("TEST_DATABASE_NAME", "") or None},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
}

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
        # uvicorn's own lines (worker start/stop, errors) in the same format once the app is
        # loaded. Not the parent "uvicorn": configuring it would reset uvicorn.access and so
        # undo --no-access-log.
        "uvicorn.error": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
