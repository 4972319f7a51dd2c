"""The project's wiring: apps, middleware, ASGI layers, URLs, templates, time, static files."""

import warnings
from pathlib import Path

from core.settings import env
from core.settings.env import (  # noqa: F401 (settings, read as they are)
    ADMIN_ENABLED,
    ALLOWED_HOSTS,
    BANK_TIME_ZONE,
    DEBUG,
    DEV_SECRET_KEY,
    DISPLAY_TIME_ZONE,
    SECRET_KEY,
)

BASE_DIR = Path(__file__).resolve().parents[2]
ADMIN_URL = "admin/"

INSTALLED_APPS = [
    # First: its templates (the admin's site-wide look, the styled 403) win over the admin's own.
    "core",
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
    "statements",
]

# Django's stock middleware as subclasses that cost an async API request no thread hop
# (core/http/fastpath/middleware.py): sessions, auth, messages, CSRF and login limiting run for
# ADMIN_URL only (the API is never cookie-authenticated); the Host check, security headers and
# X-Frame-Options run inline, for every path. (CommonMiddleware is left out on purpose: its
# APPEND_SLASH would turn a POST to a slash-less URL into a redirect the bank cannot follow.)
MIDDLEWARE = [
    "core.http.hosts.AllowedHostMiddleware",
    "core.http.fastpath.middleware.InlineSecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    *(
        [
            "core.http.fastpath.middleware.AdminSessionMiddleware",
            "core.http.fastpath.middleware.AdminCsrfViewMiddleware",
            "core.http.fastpath.middleware.AdminAuthenticationMiddleware",
            # Before the login form is read or a password hashed: a budget per client address
            # (its refusal page needs request.user, so after authentication's lazy user).
            "core.http.admin_login.AdminLoginThrottleMiddleware",
            "core.http.fastpath.middleware.AdminMessageMiddleware",
            "core.http.fastpath.middleware.AdminTimeZoneMiddleware",
            # Typed values the database cannot take: a 400 page, not a 500 (a NUL, year 10000).
            "core.http.admin_input.AdminInputMiddleware",
            # Last: it turns a lockout raised during the login into its 429 answer.
            "core.http.fastpath.middleware.AdminAxesMiddleware",
        ]
        if ADMIN_ENABLED
        else []
    ),
    "core.http.fastpath.middleware.InlineXFrameOptionsMiddleware",
]
# --deploy's W001-W003 and axes.W002 look for the stock class names; core.E009 checks the
# stand-ins (core.http.fastpath.middleware).
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003", "axes.W002"]
APPEND_SLASH = False

# ASGI layers around Django, outermost first (core.http.stack): a request id for every response,
# a 400 for a request without Host,
# then one log line and metrics per webhook delivery, then the body-size limit (so its 413 is
# observed and carries the request id too).
ASGI_MIDDLEWARE = [
    "core.http.request_id.RequestIdMiddleware",
    "core.http.hosts.HostRequiredMiddleware",
    "payments.webhook_observation.WebhookObservationMiddleware",
    "core.http.body_limit.BodySizeLimitMiddleware",
]

ROOT_URLCONF = "core.urls"
ASGI_APPLICATION = "core.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Time -----------------------------------------------------------------------------------------

USE_TZ = True
# Storage, logs and the API are UTC. TIME_ZONE stays UTC on purpose: Django would also apply it
# to the process (TZ) and DRF to every datetime the API returns. The admin shows dates in
# DISPLAY_TIME_ZONE (core.http.fastpath.middleware.AdminTimeZoneMiddleware), zone named.
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

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
STATIC_ROOT = Path(env.STATIC_ROOT or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed (gzip) but not hashed: a manifest would make every `{% static %}` fail until
    # collectstatic has run, which `make run` and the tests never do.
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
