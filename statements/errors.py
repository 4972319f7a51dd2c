"""The statements app's failures (rendered by core.http.exception_handler)."""

import enum

from core.errors import ApplicationError


class StatementsErrorCode(str, enum.Enum):
    STATEMENT_INVALID = "statement_invalid"  # 400: unparsable, or totals disagree with lines
    STATEMENT_NOT_FOUND = "statement_not_found"  # 404


class StatementsError(ApplicationError):
    """The base of the app's failures; raise a subclass."""


class StatementInvalid(StatementsError):
    """The file is refused whole: nothing was imported or credited.

    details["where"] names the line (1C) or element (camt.053) at fault.
    """

    status_code = 400
    code = StatementsErrorCode.STATEMENT_INVALID

    def __init__(self, message: str, *, where: str) -> None:
        super().__init__(f"{where}: {message}", details={"where": where})
        self.where = where


class StatementNotFound(StatementsError):
    status_code = 404
    code = StatementsErrorCode.STATEMENT_NOT_FOUND
