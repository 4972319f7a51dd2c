"""docs/api.md's statement error codes are exactly the ones statements.errors defines."""

import re

from statements.errors import StatementsErrorCode
from testsupport.launch import ROOT

API_DOC = ROOT / "docs" / "api.md"


def test_the_statement_error_code_table_lists_every_code_and_nothing_else():
    text = API_DOC.read_text()
    start = text.index("## Statement error codes\n")
    table = text[start : text.index("\n## ", start + 1)]

    assert set(re.findall(r"^\| `([a-z_]+)` \|", table, re.M)) == {
        code.value for code in StatementsErrorCode
    }
