"""A statement file, as the command, the API and the admin receive it, imported in one call."""

from zoneinfo import ZoneInfo

from django.conf import settings

from statements.parsers import statement_parse
from statements.report import StatementReport
from statements.services import statement_import


def statement_file_import(*, data: bytes, filename: str = "") -> StatementReport:
    """Parse a 1C or camt.053 file and import it (statements.services.statement_import).

    Raises StatementInvalid, naming the line or element, for a file that does not parse or
    whose totals disagree with its lines; then nothing is imported. Idempotent on the file's
    bytes, as statement_import is.
    """
    parsed = statement_parse(data=data, tz=ZoneInfo(settings.BANK_TIME_ZONE))
    return statement_import(parsed=parsed, filename=filename)
