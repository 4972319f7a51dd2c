"""The base of every expected failure an app raises; core.http.exception_handler renders it.
No Django here: tools outside the server (the load tester) import the errors of the apps."""


class ApplicationError(Exception):
    """An expected failure with a stable code and HTTP status; apps subclass it per failure.

    details go into the error body beside code and message; headers into the response.
    """

    status_code = 400
    code = "application_error"
    headers: dict[str, str] = {}  # response headers every instance carries (WWW-Authenticate)

    def __init__(
        self, message: str, *, details: dict | None = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if headers is not None:
            self.headers = headers
