"""Every environment variable the service reads, read here and nowhere else.

The other modules of core.settings turn these values into Django's settings. Defaults are safe
for local development (`make run`); production sets DEBUG=0 and real values, and the system
checks refuse what is unsafe there (docs/configuration.md lists every variable).
"""

import os
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parents[2]

# A .env beside manage.py, if there is one (git-ignored; .env.example lists every variable), is
# read before any setting; a variable the environment already sets wins over the file.
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


def env_renamed(name: str, *, formerly: str) -> str:
    """The variable to read: name, or its former name while only that one is set (with a
    warning, as the former name will stop working)."""
    if not os.environ.get(formerly):
        return name
    warnings.warn(
        f"{formerly} is deprecated: set {name} instead"
        + (f" ({formerly} is ignored while {name} is set)." if os.environ.get(name) else "."),
        FutureWarning,
        stacklevel=2,
    )
    return name if os.environ.get(name) else formerly


# --- Project --------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
# 0: no admin app, URL or middleware at all (an instance that only takes webhooks and serves
# reads exposes nothing else). Users, sessions and login attempts keep their tables either way,
# so switching it does not change the schema migrate builds, except the admin log.
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", True)
# The zone the admin shows dates and counts its date filters in (an IANA name); storage, logs
# and the API stay UTC.
DISPLAY_TIME_ZONE = env_str("DISPLAY_TIME_ZONE", "UTC")
try:
    ZoneInfo(DISPLAY_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ValueError(
        f"DISPLAY_TIME_ZONE={DISPLAY_TIME_ZONE!r} is not an IANA time zone (e.g. Europe/Moscow)"
    ) from None
# The bank's own zone (an IANA name): a statement's dates are calendar dates there, so a webhook's
# document_date instant is matched by its date in this zone, and a day's credits are checked
# against the statement of that day (docs/statements.md).
BANK_TIME_ZONE = env_str("BANK_TIME_ZONE", "Europe/Moscow")
try:
    ZoneInfo(BANK_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ValueError(
        f"BANK_TIME_ZONE={BANK_TIME_ZONE!r} is not an IANA time zone (e.g. Europe/Moscow)"
    ) from None
# Where `collectstatic` puts the files a production server serves (the Docker image's default).
STATIC_ROOT = env_str("STATIC_ROOT", "")

# --- Database -------------------------------------------------------------------------------------

# Requests and jobs log in as DATABASE_URL's role; `migrate` alone as DATABASE_OWNER_URL's,
# which owns the tables (unset: DATABASE_URL's too; docs/security.md).
DATABASE_URL = env_secret("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/payments")
DATABASE_OWNER_URL = env_secret("DATABASE_OWNER_URL", "")
TEST_DATABASE_NAME = env_str("TEST_DATABASE_NAME", "")
# Bounded waits: a stuck lock or query ends in a rollback and a 503 the sender can retry, never
# in a request that hangs forever holding a pooled connection.
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 10_000)
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 5_000)
# On when DATABASE_URL points at PgBouncer (or another pooler) in transaction mode.
DB_TRANSACTION_POOLER = env_bool("DB_TRANSACTION_POOLER", False)
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 5)
DB_POOL_MIN_SIZE = env_int("DB_POOL_MIN_SIZE", 2)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 20)
# A request waits this long for a free pooled connection, then gets a 503.
DB_POOL_TIMEOUT_SECONDS = env_int("DB_POOL_TIMEOUT_SECONDS", 5)

# --- Webhook processing and jobs ------------------------------------------------------------------

# sync: credit inside the request. background: record as pending + enqueue in one transaction,
# answer "accepted", and let `manage.py procrastinate worker` credit it (docs/background.md).
WEBHOOK_PROCESSING = env_str("WEBHOOK_PROCESSING", "sync")
if WEBHOOK_PROCESSING not in {"sync", "background"}:
    raise ValueError("WEBHOOK_PROCESSING must be 'sync' or 'background'")
# Workers write a heartbeat this often; one silent for WORKER_STALLED_AFTER_SECONDS is dead and
# the requeue job puts its running jobs back in the queue.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
WORKER_STALLED_AFTER_SECONDS = env_int("WORKER_STALLED_AFTER_SECONDS", 30)
# How often the requeue job runs (cron; 6 fields = with seconds).
PAYMENTS_REQUEUE_CRON = env_str(
    env_renamed("PAYMENTS_REQUEUE_CRON", formerly="PAYMENTS_SWEEP_CRON"), "* * * * *"
)
# A pending payment with no live job gets a new one once it is older than this.
PAYMENTS_PENDING_GRACE_SECONDS = env_int("PAYMENTS_PENDING_GRACE_SECONDS", 60)
# A credit job is retried this many times (waits 2 s, 4 s, 8 s... doubling) before it ends
# "failed". procrastinate reads 0 as "for ever": at least 1.
PAYMENTS_CREDIT_RETRIES = env_int("PAYMENTS_CREDIT_RETRIES", 10)
if PAYMENTS_CREDIT_RETRIES < 1:
    raise ValueError("PAYMENTS_CREDIT_RETRIES must be at least 1")
# The requeue job (every PAYMENTS_REQUEUE_CRON) puts the running jobs of dead workers back in the
# queue and gives a new credit job to each pending payment that has none queued or running: at
# most this many for jobs that ended failed or cancelled; past that the payment stays pending
# until an operator runs `manage.py payments_requeue` (docs/background.md).
PAYMENTS_REQUEUE_MAX = env_int(env_renamed("PAYMENTS_REQUEUE_MAX", formerly="PAYMENTS_HEAL_MAX"), 3)
# `manage.py reconcile` fails and names every payment pending longer than this. A healthy
# worker credits within seconds; half an hour is the alert rule's threshold too.
PAYMENTS_PENDING_STALE_SECONDS = env_int("PAYMENTS_PENDING_STALE_SECONDS", 1800)

# --- HTTP -----------------------------------------------------------------------------------------

# Webhook bodies are a few hundred bytes; anything past this is refused with 413 before parsing.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 64 * 1024)
# A bank statement (POST /api/statements/, the admin's upload, `statement_import`) is a whole
# month of an account: 100,000 lines of 1C are about 40 MB. Its paths get this limit instead.
STATEMENT_MAX_BYTES = env_int("STATEMENT_MAX_BYTES", 64 * 1024 * 1024)

# --- Security -------------------------------------------------------------------------------------

# Standard Webhooks secrets (`whsec_<base64 key>`), comma-separated: during a rotation both the
# old and the new secret verify. Empty: deliveries are not verified (development only).
BANK_WEBHOOK_SECRETS = env_secret_list("BANK_WEBHOOK_SECRETS")
# How far webhook-timestamp may lie from this server's clock, either way: a captured delivery
# cannot be replayed later than this.
WEBHOOK_TOLERANCE_SECONDS = env_int("WEBHOOK_TOLERANCE_SECONDS", 300)
# Bearer tokens for the read endpoints, comma-separated (one per client, so one can be revoked).
API_TOKENS = env_secret_list("API_TOKENS")
# Bearer tokens that may import a statement (POST /api/statements/), comma-separated. Importing
# credits money, so a read token does not do it. Empty: open (development only).
STATEMENT_IMPORT_TOKENS = env_secret_list("STATEMENT_IMPORT_TOKENS")
# TLS. Off by default because they depend on how the deployment terminates TLS (see README);
# `manage.py check --deploy` names each one that production leaves off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The admin's cookies over HTTPS only, except in development (plain HTTP on 127.0.0.1), where a
# secure-only cookie would make the admin login impossible.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# "HTTP_X_FORWARDED_PROTO,https" behind a proxy that terminates TLS and always overwrites it.
SECURE_PROXY_SSL_HEADER = env_list("SECURE_PROXY_SSL_HEADER", "")
ADMIN_LOGIN_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
ADMIN_LOGIN_COOLOFF_MINUTES = env_int("ADMIN_LOGIN_COOLOFF_MINUTES", 60)

# --- Operations -----------------------------------------------------------------------------------

# /readyz waits at most this long for a pooled connection: a probe never hangs on a dead database.
HEALTH_DB_TIMEOUT_SECONDS = env_int("HEALTH_DB_TIMEOUT_SECONDS", 2)
# Set (by scripts/serve.sh) when several uvicorn workers run: each writes its metrics to files
# here and /metrics merges them. prometheus_client reads the variable itself, at import.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
# /metrics with DEBUG off needs one of them: Prometheus sends `Authorization: Bearer
# <METRICS_TOKEN>` (its scrape config's `authorization: credentials_file`), or
# METRICS_INTERNAL_ONLY=1 declares that this port is reachable from the internal network only.
METRICS_TOKEN = env_secret("METRICS_TOKEN", "")
METRICS_INTERNAL_ONLY = env_bool("METRICS_INTERNAL_ONLY", False)
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# json: one JSON object per line, for log collectors; plain: readable lines for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ValueError(f"LOG_FORMAT must be 'json' or 'plain', not {LOG_FORMAT!r}")
