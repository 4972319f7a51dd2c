"""Bank statement files to ParsedStatement: the format is told by the file's first bytes.

Each parser refuses a file whole (StatementInvalid naming the line or element) rather than
returning part of it; the formats, the mapping and the refusals are in docs/statements.md#formats.
"""

from zoneinfo import ZoneInfo

from statements.errors import StatementInvalid
from statements.parsers.camt053 import camt053_statement_parse
from statements.parsers.one_c import one_c_statement_parse
from statements.parsers.one_c_reader import SIGNATURE
from statements.parsers.values import MOSCOW
from statements.types import ParsedStatement

__all__ = ["camt053_statement_parse", "one_c_statement_parse", "statement_parse"]

_UTF8_BOM = b"\xef\xbb\xbf"


def statement_parse(*, data: bytes, tz: ZoneInfo = MOSCOW) -> ParsedStatement:
    """Parse a 1C or camt.053 statement, told apart by its first bytes; created_at is in `tz`.

    Raises StatementInvalid for a file of neither format, or one its parser refuses.
    """
    # A UTF-8 1C file goes to its parser too, which names what is wrong with it.
    if data.removeprefix(_UTF8_BOM).startswith(SIGNATURE.encode("ascii")):
        return one_c_statement_parse(data=data, tz=tz)
    if data.removeprefix(_UTF8_BOM).lstrip().startswith(b"<"):
        return camt053_statement_parse(data=data, tz=tz)
    raise StatementInvalid(
        f"neither a 1C file (it starts with {SIGNATURE}) nor a camt.053 XML document",
        where="line 1",
    )
