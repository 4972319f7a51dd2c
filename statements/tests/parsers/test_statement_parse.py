"""statement_parse tells the formats apart by their first bytes."""

import pytest

from statements.errors import StatementInvalid
from statements.parsers import statement_parse
from statements.types import StatementFormat
from testsupport.statements import LineSpec, camt053_statement, one_c_statement


def test_each_format_is_recognised():
    assert (
        statement_parse(data=one_c_statement([LineSpec(amount=1)])).format is StatementFormat.ONE_C
    )
    camt = camt053_statement([LineSpec(amount=1)])
    assert statement_parse(data=camt).format is StatementFormat.CAMT053
    assert statement_parse(data=b"\xef\xbb\xbf" + camt).format is StatementFormat.CAMT053


@pytest.mark.parametrize("data", [b"", b"hello", b"\xff\xfe<\x00", b" 1CClientBankExchange\r\n"])
def test_anything_else_is_refused_naming_line_1(data):
    with pytest.raises(StatementInvalid) as caught:
        statement_parse(data=data)
    assert caught.value.where == "line 1"


def test_the_same_bytes_have_the_same_digest_and_others_another():
    first = one_c_statement([LineSpec(amount=1)])
    second = one_c_statement([LineSpec(amount=2)])
    assert statement_parse(data=first).sha256 == statement_parse(data=first).sha256
    assert statement_parse(data=first).sha256 != statement_parse(data=second).sha256


def test_a_utf8_1c_file_with_a_byte_order_mark_is_refused_as_utf8():
    data = b"\xef\xbb\xbf" + one_c_statement([LineSpec(amount=1)]).decode("cp1251").encode()
    with pytest.raises(StatementInvalid) as caught:
        statement_parse(data=data)
    assert "UTF-8" in str(caught.value)
