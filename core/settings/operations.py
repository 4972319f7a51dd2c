"""What operators see: health probes, Prometheus metrics, log lines."""

from core.settings.env import (  # noqa: F401 (settings, read as they are)
    HEALTH_DB_TIMEOUT_SECONDS,
    LOG_FORMAT,
    LOG_LEVEL,
    METRICS_INTERNAL_ONLY,
    METRICS_TOKEN,
    PROMETHEUS_MULTIPROC_DIR,
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.observability.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"()": "core.observability.logs.plain_formatter"},
        "json": {"()": "core.observability.logs.json_formatter"},
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

# Django's error reports (the DEBUG page, the 500 log) hide settings by name; this one also hides
# the passwords inside URLs (DATABASE_URL...), in settings, the request and the frames' variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.observability.error_reports.CredentialsReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "core.observability.error_reports.CredentialsExceptionReporter"
