"""Every environment variable the service reads, read here and nowhere else.

Each is read through a reader of core/settings/readers.py (env_str, env_int...), which checks it.

The other modules of core.settings turn these values into Django's settings. DEBUG is off
unless asked for (the development launcher, scripts/embedded_db.py, asks); the other defaults
suit local development, and the system checks refuse what is unsafe in production
(docs/configuration.md lists every variable). A value refused here raises SettingError, one
line naming the variable and what it accepts.
"""

from pathlib import Path

from croniter import croniter
from dotenv import load_dotenv
from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict

from core.errors import SettingError
from core.settings.readers import (
    env_bool,
    env_int,
    env_list,
    env_renamed,
    env_secret,
    env_secret_list,
    env_str,
    env_time_zone,
    refuse,
    variables_start,
)

BASE_DIR = Path(__file__).resolve().parents[2]

# A .env beside manage.py, if there is one (git-ignored; .env.example lists every variable), is
# read before any setting; a variable the environment already sets wins over the file.
load_dotenv(BASE_DIR / ".env", override=False)

DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"  # noqa: S105

# Every variable read below, with what it accepts (the readers fill it; this run's own).
VARIABLES = variables_start()

# --- Project --------------------------------------------------------------------------------------

# Off unless asked for: a deployment that forgets it serves as production, never Django's debug
# pages (docs/security.md, "DEBUG"). `make run`, `make test` and the other make targets set
# DEBUG=1 through their launcher when neither the environment nor .env says otherwise.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
# 0: no admin app, URL or middleware at all (an instance that only takes webhooks and serves
# reads exposes nothing else). Users, sessions and login attempts keep their tables either way,
# so switching it does not change the schema migrate builds, except the admin log.
ADMIN_ENABLED = env_bool("ADMIN_ENABLED", True)
# The zone the admin shows dates and counts its date filters in (an IANA name); storage, logs
# and the API stay UTC.
DISPLAY_TIME_ZONE = env_time_zone("DISPLAY_TIME_ZONE", "UTC")
# The bank's own zone (an IANA name): a statement's dates are calendar dates there, so a webhook's
# document_date instant is matched by its date in this zone, and a day's credits are checked
# against the statement of that day (docs/statements.md).
BANK_TIME_ZONE = env_time_zone("BANK_TIME_ZONE", "Europe/Moscow")
# Where `collectstatic` puts the files a production server serves (the Docker image's default).
STATIC_ROOT = env_str("STATIC_ROOT", "")

# --- Database -------------------------------------------------------------------------------------

# Requests and jobs log in as DATABASE_URL's role; `migrate` alone as DATABASE_OWNER_URL's,
# which owns the tables (unset: DATABASE_URL's too; docs/security.md).
DATABASE_URL = env_secret("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/payments")
DATABASE_OWNER_URL = env_secret("DATABASE_OWNER_URL", "")
TEST_DATABASE_NAME = env_str("TEST_DATABASE_NAME", "")
_URL_ACCEPTS = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or libpq's key=value form)"
for _name, _url in (("DATABASE_URL", DATABASE_URL), ("DATABASE_OWNER_URL", DATABASE_OWNER_URL)):
    try:
        conninfo_to_dict(_url)
    except ProgrammingError:
        raise refuse(_name, None, _URL_ACCEPTS) from None
# Bounded waits: a stuck lock or query ends in a rollback and a 503 the sender can retry, never
# in a request that hangs forever holding a pooled connection.
HOUR_MS = 3_600_000
DB_STATEMENT_TIMEOUT_MS = env_int(
    "DB_STATEMENT_TIMEOUT_MS", 10_000, minimum=1, maximum=HOUR_MS, unit="milliseconds"
)
DB_LOCK_TIMEOUT_MS = env_int(
    "DB_LOCK_TIMEOUT_MS", 5_000, minimum=1, maximum=HOUR_MS, unit="milliseconds"
)
# On when DATABASE_URL points at PgBouncer (or another pooler) in transaction mode.
DB_TRANSACTION_POOLER = env_bool("DB_TRANSACTION_POOLER", False)
DB_CONNECT_TIMEOUT_SECONDS = env_int(
    "DB_CONNECT_TIMEOUT_SECONDS", 5, minimum=1, maximum=300, unit="seconds"
)
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 20, minimum=1, maximum=1000, unit="connections")
DB_POOL_MIN_SIZE = env_int(
    "DB_POOL_MIN_SIZE", 2, minimum=0, maximum=DB_POOL_MAX_SIZE, unit="at most DB_POOL_MAX_SIZE"
)
# A request waits this long for a free pooled connection, then gets a 503.
DB_POOL_TIMEOUT_SECONDS = env_int(
    "DB_POOL_TIMEOUT_SECONDS", 5, minimum=1, maximum=300, unit="seconds"
)

# --- Webhook processing and jobs ------------------------------------------------------------------

# sync: credit inside the request. background: record as pending + enqueue in one transaction,
# answer "accepted", and let `manage.py procrastinate worker` credit it (docs/background.md).
WEBHOOK_PROCESSING = env_str("WEBHOOK_PROCESSING", "sync", choices=("sync", "background"))
# Workers write a heartbeat this often; one silent for WORKER_STALLED_AFTER_SECONDS is dead and
# the requeue job puts its running jobs back in the queue.
WORKER_HEARTBEAT_SECONDS = env_int(
    "WORKER_HEARTBEAT_SECONDS", 10, minimum=1, maximum=3600, unit="seconds"
)
WORKER_STALLED_AFTER_SECONDS = env_int(
    "WORKER_STALLED_AFTER_SECONDS",
    30,
    minimum=WORKER_HEARTBEAT_SECONDS + 1,
    maximum=86_400,
    unit="seconds, longer than WORKER_HEARTBEAT_SECONDS",
)
# How often the requeue job runs (cron; 6 fields = with seconds).
_requeue_cron = env_renamed("PAYMENTS_REQUEUE_CRON", formerly="PAYMENTS_SWEEP_CRON")
PAYMENTS_REQUEUE_CRON = env_str(_requeue_cron, "* * * * *")
VARIABLES["PAYMENTS_REQUEUE_CRON"] = "a cron expression of 5 fields, or 6 with seconds"
if not croniter.is_valid(PAYMENTS_REQUEUE_CRON):
    raise refuse(_requeue_cron, PAYMENTS_REQUEUE_CRON, VARIABLES["PAYMENTS_REQUEUE_CRON"])
# A pending payment with no live job gets a new one once it is older than this.
PAYMENTS_PENDING_GRACE_SECONDS = env_int(
    "PAYMENTS_PENDING_GRACE_SECONDS", 60, minimum=1, maximum=86_400, unit="seconds"
)
# A credit job is retried this many times (waits 2 s, 4 s, 8 s... doubling) before it ends
# "failed". procrastinate reads 0 as "for ever": at least 1.
PAYMENTS_CREDIT_RETRIES = env_int("PAYMENTS_CREDIT_RETRIES", 10, minimum=1, maximum=100)
# The requeue job (every PAYMENTS_REQUEUE_CRON) puts the running jobs of dead workers back in the
# queue and gives a new credit job to each pending payment that has none queued or running: at
# most this many for jobs that ended failed or cancelled; past that the payment stays pending
# until an operator runs `manage.py payments_requeue` (docs/background.md).
PAYMENTS_REQUEUE_MAX = env_int(
    env_renamed("PAYMENTS_REQUEUE_MAX", formerly="PAYMENTS_HEAL_MAX"), 3, minimum=0, maximum=100
)
# `manage.py reconcile` fails and names every payment pending longer than this. A healthy
# worker credits within seconds; half an hour is the alert rule's threshold too.
PAYMENTS_PENDING_STALE_SECONDS = env_int(
    "PAYMENTS_PENDING_STALE_SECONDS", 1800, minimum=1, maximum=30 * 86_400, unit="seconds"
)

# --- HTTP -----------------------------------------------------------------------------------------

# Webhook bodies are a few hundred bytes; anything past this is refused with 413 before parsing.
# At least 1 KiB: a webhook body is a few hundred bytes, and a smaller limit would answer every
# delivery 413, which the bank may never retry.
MAX_REQUEST_BODY_BYTES = env_int(
    "MAX_REQUEST_BODY_BYTES", 64 * 1024, minimum=1024, maximum=16 * 1024 * 1024, unit="bytes"
)
# A bank statement (POST /api/statements/, the admin's upload, `statement_import`) is a whole
# month of an account: 100,000 lines of 1C are about 40 MB. Its paths get this limit instead;
# the body layer holds it in memory, hence the ceiling.
STATEMENT_MAX_BYTES = env_int(
    "STATEMENT_MAX_BYTES", 64 * 1024 * 1024, minimum=1024, maximum=1024**3, unit="bytes"
)

# --- Security -------------------------------------------------------------------------------------

# Standard Webhooks secrets (`whsec_<base64 key>`), comma-separated: during a rotation both the
# old and the new secret verify. Empty: deliveries are not verified (development only).
BANK_WEBHOOK_SECRETS = env_secret_list("BANK_WEBHOOK_SECRETS")
# How far webhook-timestamp may lie from this server's clock, either way: a captured delivery
# cannot be replayed later than this.
WEBHOOK_TOLERANCE_SECONDS = env_int(
    "WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1, maximum=3600, unit="seconds"
)
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
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 0, minimum=0, maximum=2 * 365 * 86_400, unit="seconds"
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# "HTTP_X_FORWARDED_PROTO,https" behind a proxy that terminates TLS and always overwrites it.
SECURE_PROXY_SSL_HEADER = env_list("SECURE_PROXY_SSL_HEADER", "")
VARIABLES["SECURE_PROXY_SSL_HEADER"] = (
    "empty, or a header and its value (HTTP_X_FORWARDED_PROTO,https)"
)
if len(SECURE_PROXY_SSL_HEADER) not in (0, 2):
    raise refuse(
        "SECURE_PROXY_SSL_HEADER",
        ",".join(SECURE_PROXY_SSL_HEADER),
        VARIABLES["SECURE_PROXY_SSL_HEADER"],
    )
ADMIN_LOGIN_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=1000)
ADMIN_LOGIN_COOLOFF_MINUTES = env_int(
    "ADMIN_LOGIN_COOLOFF_MINUTES", 60, minimum=1, maximum=7 * 24 * 60, unit="minutes"
)

# --- Serving (core.serve: uvicorn's command line) ------------------------------------------------

HOST = env_str("HOST", "127.0.0.1")
VARIABLES["HOST"] = "an address to listen on (127.0.0.1, 0.0.0.0, ::)"
if not HOST.strip() or any(char in HOST for char in " /,"):
    raise refuse("HOST", HOST, VARIABLES["HOST"])
PORT = env_int("PORT", 8000, minimum=1, maximum=65_535)
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 2, minimum=1, maximum=256, unit="processes")

# --- Operations -----------------------------------------------------------------------------------

# /readyz waits at most this long for a pooled connection: a probe never hangs on a dead database.
HEALTH_DB_TIMEOUT_SECONDS = env_int(
    "HEALTH_DB_TIMEOUT_SECONDS", 2, minimum=1, maximum=60, unit="seconds"
)
# Set (by scripts/serve.sh) when several uvicorn workers run: each writes its metrics to files
# here and /metrics merges them. prometheus_client reads the variable itself, at import.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
# /metrics with DEBUG off needs one of them: Prometheus sends `Authorization: Bearer
# <METRICS_TOKEN>` (its scrape config's `authorization: credentials_file`), or
# METRICS_INTERNAL_ONLY=1 declares that this port is reachable from the internal network only.
METRICS_TOKEN = env_secret("METRICS_TOKEN", "")
METRICS_INTERNAL_ONLY = env_bool("METRICS_INTERNAL_ONLY", False)
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
VARIABLES["LOG_LEVEL"] = "DEBUG, INFO, WARNING, ERROR or CRITICAL"
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise refuse("LOG_LEVEL", LOG_LEVEL, VARIABLES["LOG_LEVEL"])
# json: one JSON object per line, for log collectors; plain: readable lines for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json", choices=("json", "plain"))

# --- Values checked together ---------------------------------------------------------------------

# Django's own bar for a SECRET_KEY (security.W009). The development key itself, with DEBUG off,
# is core.checks' E001, listed with the other missing production settings.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
if (
    not DEBUG
    and SECRET_KEY != DEV_SECRET_KEY
    and (
        len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH
        or len(set(SECRET_KEY)) < SECRET_KEY_MIN_UNIQUE
        or SECRET_KEY.startswith("django-insecure-")
    )
):
    raise refuse(
        "SECRET_KEY",
        None,
        f"at least {SECRET_KEY_MIN_LENGTH} characters, {SECRET_KEY_MIN_UNIQUE} of them different "
        '(python3 -c "import secrets; print(secrets.token_urlsafe(50))")',
    )

VARIABLES["ALLOWED_HOSTS"] = (
    "comma-separated host names: payments.example.com, or .example.com for it and its "
    "subdomains; not empty, not a bare suffix such as .com, '*' only with DEBUG=1"
)


def allowed_host_refused(host: str) -> bool:
    """A pattern that matches hosts nobody chose: a domain pattern over a bare suffix (.com),
    a wildcard Django does not support (*.example.com), a URL, or '*' in production."""
    if host == "*":
        return not DEBUG
    if "*" in host or "/" in host:
        return True
    # A leading dot matches the domain and every subdomain: it needs a registered domain below a
    # suffix (two labels at least). Without a public-suffix list, .co.uk still passes.
    return host.startswith(".") and "." not in host[1:].strip(".")


if not ALLOWED_HOSTS or any(allowed_host_refused(host) for host in ALLOWED_HOSTS):
    raise refuse("ALLOWED_HOSTS", ",".join(ALLOWED_HOSTS), VARIABLES["ALLOWED_HOSTS"])

# --- DEBUG is for one developer's machine ---------------------------------------------------------

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def debug_refusal() -> str | None:
    """Why DEBUG=1 must not start here, or None: a production secret is set (the deployment is
    a real one), or the server would listen beyond this machine (its debug pages would show
    settings and code to the network)."""
    if not DEBUG:
        return None
    production = [
        name
        for name, value in (
            ("SECRET_KEY", SECRET_KEY != DEV_SECRET_KEY),
            ("BANK_WEBHOOK_SECRETS", BANK_WEBHOOK_SECRETS),
            ("API_TOKENS", API_TOKENS),
            ("METRICS_TOKEN", METRICS_TOKEN),
        )
        if value
    ]
    if production:
        return (
            f"DEBUG=1 with production secrets set ({', '.join(production)}): refusing to start. "
            "Set DEBUG=0 for a deployment, or unset them for development."
        )
    if HOST not in LOOPBACK_HOSTS:
        return (
            f"DEBUG=1 with HOST={HOST} (beyond this machine): refusing to start, as the debug "
            "pages would be served to the network. Set DEBUG=0, or HOST=127.0.0.1."
        )
    return None


if refusal := debug_refusal():
    raise SettingError(refusal)
