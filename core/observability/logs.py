"""Log lines that name their request: JSON in production, plain key=value lines in development.

core.http.request_id opens a RequestContext for each HTTP request in a contextvar. asgiref copies
the context into the threads that run sync code (services, the ORM), so every line logged while
a request is handled carries its request_id, wherever it was logged from.

This module is loaded by settings.LOGGING before Django's apps are ready: no Django imports.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from pythonjsonlogger.json import JsonFormatter

from core.observability.credentials import credentials_cleanse


@dataclass
class RequestContext:
    request_id: str
    # What views learned about the request, for its summary line (see request_log_bind).
    fields: dict[str, object] = field(default_factory=dict)


request_context: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def request_log_bind(**fields: object) -> None:
    """Add fields to the current request's summary line; does nothing outside a request."""
    context = request_context.get()
    if context is not None:
        context.fields.update(fields)


@contextmanager
def request_log_timed(name: str) -> Iterator[None]:
    """Bind `<name>_ms`, the time the block took, even when it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        request_log_bind(**{f"{name}_ms": round((time.perf_counter() - started) * 1000, 3)})


class RequestIdFilter(logging.Filter):
    """Put the current request's id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            context = request_context.get()
            record.request_id = context.request_id if context else None
        return True


# Everything a LogRecord has by itself; any other attribute came from `extra=` or a filter.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# uvicorn adds a copy of its message with terminal colour codes: not a field.
_NOT_FIELDS = _RECORD_ATTRIBUTES | {"color_message"}


class PlainFormatter(logging.Formatter):
    """Development lines: the usual text, then the extra fields as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        # The whole line, traceback included: no password reaches a log (docs/security.md).
        return credentials_cleanse(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:
        extra = " ".join(
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _NOT_FIELDS and value is not None
        )
        line = super().formatMessage(record)
        return f"{line} {extra}" if extra else line


def plain_formatter() -> logging.Formatter:
    return PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")


class CleansedJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        # The whole line, traceback included: no password reaches a log (docs/security.md).
        return credentials_cleanse(super().format(record))


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, request_id, and
    every extra field of the record under its own key."""
    return CleansedJsonFormatter(
        "%(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=sorted(_NOT_FIELDS),
        timestamp="time",
        json_ensure_ascii=False,
    )
