"""The error vocabulary: the codes the project's own layers answer with, and the base type of
every expected failure an app raises (core.http.exception_handler renders both).

No Django here: tools outside the server (the load tester) import the errors of the apps.
"""

import enum


class ErrorCode(str, enum.Enum):
    """Every `error.code` core's layers send; each app adds its own (payments.errors)."""

    INVALID_REQUEST = "invalid_request"  # 400, with `fields` naming each invalid one
    MALFORMED_JSON = "malformed_json"  # 400: not a JSON document
    BAD_REQUEST = "bad_request"  # 400: refused by Django before any view
    DISALLOWED_HOST = "disallowed_host"  # 400: a Host not in ALLOWED_HOSTS
    NOT_AUTHENTICATED = "not_authenticated"  # 401: /metrics without its token
    CSRF_FAILED = "csrf_failed"  # 403
    PERMISSION_DENIED = "permission_denied"  # 403
    NOT_FOUND = "not_found"  # 404: no such path
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    NOT_ACCEPTABLE = "not_acceptable"  # 406: the Accept header admits no JSON
    PAYLOAD_TOO_LARGE = "payload_too_large"  # 413: over MAX_REQUEST_BODY_BYTES
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415
    SERVER_ERROR = "server_error"  # 500: a bug
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503: the database could not answer; retry


class ApplicationError(Exception):
    """An expected failure with a stable code and HTTP status; apps subclass it per failure.

    details go into the error body beside code and message; headers into the response.
    """

    status_code = 400
    code: enum.Enum  # each subclass names its code from its app's ErrorCode enum
    headers: dict[str, str] = {}  # response headers every instance carries (WWW-Authenticate)

    def __init__(
        self, message: str, *, details: dict | None = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if headers is not None:
            self.headers = headers


class SettingError(Exception):
    """A setting refused at startup. Its message is the one line an operator reads: the variable,
    what it accepts, and never a secret's value. Entry points (manage.py, core.asgi, core.serve)
    print it instead of a traceback."""
