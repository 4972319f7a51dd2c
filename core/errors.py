"""The error vocabulary: the codes the project's own layers answer with, and the base type of
every expected failure an app raises (core.http.exception_handler renders both).

No Django here: tools outside the server (the load tester) import the errors of the apps.
"""

import enum


class ErrorCode(str, enum.Enum):
    """Every `error.code` core's layers send; each app adds its own (payments.errors)."""

    INVALID_REQUEST = "invalid_request"
    MALFORMED_JSON = "malformed_json"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    DISALLOWED_HOST = "disallowed_host"
    CSRF_FAILED = "csrf_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_AUTHENTICATED = "not_authenticated"
    SERVICE_UNAVAILABLE = "service_unavailable"
    SERVER_ERROR = "server_error"


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
