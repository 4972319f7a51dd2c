"""The 1C parser on hand-written files (both encodings, both versions) and on generated ones."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from statements.errors import StatementInvalid
from statements.parsers import one_c_statement_parse, statement_parse
from statements.types import Direction, StatementFormat
from testsupport.statements import ACCOUNT, SECOND_ACCOUNT, LineSpec, one_c_statement

MOSCOW = ZoneInfo("Europe/Moscow")


def refusal(data: bytes) -> StatementInvalid:
    with pytest.raises(StatementInvalid) as caught:
        one_c_statement_parse(data=data)
    return caught.value


def with_line(data: bytes, old: str, new: str, encoding: str = "cp1251") -> bytes:
    assert old.encode(encoding) in data
    return data.replace(old.encode(encoding), new.encode(encoding), 1)


def test_the_tasks_example_is_an_incoming_line_with_its_fields(statement_file):
    parsed = statement_parse(data=statement_file("one_c_1.03_windows.txt"))
    line = parsed.lines[0]
    assert line.direction is Direction.INCOMING
    assert line.amount == 145000
    assert line.currency == "RUB"
    assert line.account == ACCOUNT
    assert line.payer_inn == "1234567890"
    assert line.document_number == "PAY-328"
    assert line.document_date == datetime.date(2024, 4, 28)
    assert line.booking_date == datetime.date(2024, 4, 28)
    assert line.operation_id is None
    assert (line.position, line.where) == (1, "line 31")


def test_windows_file_with_two_accounts(statement_file):
    data = statement_file("one_c_1.03_windows.txt")
    parsed = statement_parse(data=data)
    assert parsed.format is StatementFormat.ONE_C
    assert parsed.version == "1.03"
    assert parsed.accounts == (ACCOUNT, SECOND_ACCOUNT)
    assert (parsed.period_start, parsed.period_end) == (
        datetime.date(2024, 4, 27),
        datetime.date(2024, 4, 28),
    )
    assert parsed.created_at == datetime.datetime(2024, 4, 28, 18, 5, 31, tzinfo=MOSCOW)
    # Balances are summed over the accounts: 10000.00 + 0.00, then 11200.50 + 777.07.
    assert (parsed.opening_balance, parsed.closing_balance) == (1000000, 1197757)
    assert (parsed.total_incoming, parsed.total_outgoing) == (145000 + 5050 + 77707, 30000)
    assert len(parsed.sha256) == 64


def test_receivers_settlement_account_makes_a_line_incoming(statement_file):
    # ПолучательСчет is empty; ПолучательРасчСчет is the second section's account.
    line = statement_parse(data=statement_file("one_c_1.03_windows.txt")).lines[3]
    assert (line.direction, line.account, line.amount) == (
        Direction.INCOMING,
        SECOND_ACCOUNT,
        77707,
    )
    assert line.document_date == datetime.date(2024, 4, 26)
    assert line.booking_date == datetime.date(2024, 4, 28)  # ДатаПоступило, not ДатаСписано


def test_payers_account_makes_a_line_outgoing_booked_on_its_debit_date(statement_file):
    line = statement_parse(data=statement_file("one_c_1.03_windows.txt")).lines[2]
    assert (line.direction, line.account, line.amount) == (Direction.OUTGOING, ACCOUNT, 30000)
    assert (line.document_number, line.payer_inn) == ("901", "7701234567")
    assert line.booking_date == datetime.date(2024, 4, 28)


def test_document_number_is_kept_exactly_and_a_blank_inn_is_none(statement_file):
    line = statement_parse(data=statement_file("one_c_1.03_windows.txt")).lines[1]
    assert line.document_number == " 17 "
    assert line.payer_inn is None
    assert line.amount == 5050  # "50.5"


def test_dos_file_version_102_with_two_sections_of_one_account(statement_file):
    parsed = statement_parse(data=statement_file("one_c_1.02_dos.txt"))
    assert parsed.version == "1.02"
    assert parsed.accounts == (ACCOUNT,)
    # The account's first section opens (overdrawn), its last one closes.
    assert (parsed.opening_balance, parsed.closing_balance) == (-10000, 325001)
    assert parsed.created_at == datetime.datetime(2024, 4, 29, 9, 0, tzinfo=MOSCOW)
    assert [line.document_number for line in parsed.lines] == ["ПП-15", "PAY-328", "3"]
    assert [line.direction for line in parsed.lines] == [
        Direction.INCOMING,
        Direction.INCOMING,
        Direction.OUTGOING,
    ]


def test_created_at_is_read_in_the_given_time_zone():
    data = one_c_statement([LineSpec(amount=100)])
    parsed = one_c_statement_parse(data=data, tz=ZoneInfo("Asia/Vladivostok"))
    assert parsed.created_at == datetime.datetime(
        2024, 4, 28, 10, 15, tzinfo=ZoneInfo("Asia/Vladivostok")
    )


@pytest.mark.parametrize("encoding", ["Windows", "DOS"])
@pytest.mark.parametrize("version", ["1.02", "1.03"])
def test_generated_files_parse_in_each_encoding_and_version(encoding, version):
    specs = [
        LineSpec(amount=145000, document_number="№ 328/А"),
        LineSpec(amount=99, direction=Direction.OUTGOING, payer_inn="7701234567"),
        LineSpec(amount=1, account=SECOND_ACCOUNT, booking_date=datetime.date(2024, 4, 29)),
    ]
    data = one_c_statement(
        specs, accounts=(ACCOUNT, SECOND_ACCOUNT), encoding=encoding, version=version
    )
    parsed = statement_parse(data=data)
    assert parsed.version == version
    assert [(line.amount, line.account, line.direction) for line in parsed.lines] == [
        (145000, ACCOUNT, Direction.INCOMING),
        (99, ACCOUNT, Direction.OUTGOING),
        (1, SECOND_ACCOUNT, Direction.INCOMING),
    ]
    assert parsed.lines[0].document_number == "№ 328/А"
    assert parsed.lines[2].booking_date == datetime.date(2024, 4, 29)


@pytest.mark.parametrize(("written", "minor"), [("1450", 145000), ("1450.5", 145050), ("0.01", 1)])
def test_amounts_in_roubles_become_minor_units(written, minor):
    data = one_c_statement([LineSpec(amount=minor)])
    data = with_line(data, f"Сумма={minor / 100:.2f}", f"Сумма={written}")
    assert one_c_statement_parse(data=data).lines[0].amount == minor


@pytest.mark.parametrize("written", ["1450.001", "-1450.00", "abc", "1450,00", "0.00", "", "1e3"])
def test_an_amount_that_is_not_positive_roubles_with_two_decimals_is_refused(written):
    data = with_line(
        one_c_statement([LineSpec(amount=145000)]), "Сумма=1450.00", f"Сумма={written}"
    )
    error = refusal(data)
    assert error.where == "line 24"
    assert "roubles with at most two decimals" in str(error)


@pytest.mark.parametrize("written", ["28.4.2024", "2024-04-28", "31.02.2024"])
def test_a_date_not_dd_mm_yyyy_is_refused(written):
    data = with_line(one_c_statement([LineSpec(amount=100)]), "Дата=28.04.2024", f"Дата={written}")
    assert refusal(data).where == "line 23"


def test_totals_that_disagree_with_the_documents_are_refused(statement_file):
    error = refusal(statement_file("one_c_totals_mismatch.txt"))
    assert error.where == "line 18"
    assert "ВсегоПоступило of account 40702810900000000001 is 1450.50" in str(error)
    assert "sum to 1500.50" in str(error)


def test_outgoing_total_that_disagrees_with_the_documents_is_refused():
    data = one_c_statement([LineSpec(amount=500, direction=Direction.OUTGOING)])
    data = with_line(data, "ВсегоСписано=5.00", "ВсегоСписано=4.00")
    data = with_line(data, "КонечныйОстаток=-5.00", "КонечныйОстаток=-4.00")
    assert "ВсегоСписано" in str(refusal(data))


def test_a_balance_that_does_not_add_up_is_refused():
    data = one_c_statement([LineSpec(amount=145000)], opening_balance=100)
    data = with_line(data, "КонечныйОстаток=1451.00", "КонечныйОстаток=1451.01")
    error = refusal(data)
    assert error.where == "line 19"
    assert "НачальныйОстаток + ВсегоПоступило - ВсегоСписано" in str(error)


def test_a_truncated_file_is_refused(statement_file):
    error = refusal(statement_file("one_c_truncated.txt"))
    assert error.where == "line 86"
    assert "truncated" in str(error)


def test_a_file_without_its_end_is_refused_even_between_documents():
    assert "truncated" in str(refusal(one_c_statement([LineSpec(amount=1)], end_of_file=False)))


def test_text_after_the_end_of_the_file_is_refused():
    data = one_c_statement([LineSpec(amount=1)]) + "Сумма=1.00\r\n".encode("cp1251")
    assert refusal(data).where == "line 36"


def test_an_encoding_that_disagrees_with_the_bytes_is_refused():
    data = with_line(one_c_statement([LineSpec(amount=1)]), "Кодировка=Windows", "Кодировка=DOS")
    error = refusal(data)
    assert error.where == "line 3"
    assert "does not match" in str(error)


def test_a_utf8_file_is_refused():
    data = one_c_statement([LineSpec(amount=1)]).decode("cp1251").encode("utf-8")
    assert "UTF-8" in str(refusal(data))


def test_bytes_the_declared_encoding_cannot_read_are_refused():
    # 0x98 is the one byte windows-1251 leaves undefined.
    data = one_c_statement([LineSpec(amount=1)]).replace("ООО Лютик".encode("cp1251"), b"\x98")
    error = refusal(data)
    assert error.where == "line 31"
    assert "not cp1251 text" in str(error)


def test_an_unsupported_version_is_refused():
    data = one_c_statement([LineSpec(amount=1)], version="1.01")
    error = refusal(data)
    assert error.where == "line 2"
    assert "1.01" in str(error)


def test_a_document_of_another_account_is_refused():
    data = one_c_statement([LineSpec(amount=1)])
    data = with_line(data, f"ПолучательСчет={ACCOUNT}", "ПолучательСчет=40702810000000000099")
    data = with_line(data, "ВсегоПоступило=0.01", "ВсегоПоступило=0.00")
    data = with_line(data, "КонечныйОстаток=0.01", "КонечныйОстаток=0.00")
    assert refusal(data).where == "line 21"


def test_a_repeated_field_is_refused_rather_than_one_value_dropped():
    data = with_line(
        one_c_statement([LineSpec(amount=100)]), "Сумма=1.00", "Сумма=1.00\r\nСумма=2.00"
    )
    error = refusal(data)
    assert error.where == "line 25"
    assert "repeats (first on line 24)" in str(error)


def test_a_line_that_is_not_key_value_is_refused():
    data = with_line(
        one_c_statement([LineSpec(amount=100)]), "КонецДокумента", "Мусор\r\nКонецДокумента"
    )
    assert refusal(data).where == "line 34"


def test_a_section_without_an_account_is_refused():
    data = with_line(
        one_c_statement([LineSpec(amount=100)]), f"РасчСчет={ACCOUNT}\r\nНачальный", "Начальный"
    )
    assert refusal(data).where == "line 12"


def test_a_missing_amount_is_refused_naming_its_document():
    data = with_line(one_c_statement([LineSpec(amount=100)]), "Сумма=1.00\r\n", "")
    error = refusal(data)
    assert error.where == "line 21"
    assert "missing" in str(error)


def test_a_file_without_a_version_is_refused():
    data = with_line(one_c_statement([LineSpec(amount=100)]), "ВерсияФормата=1.03\r\n", "")
    assert "no ВерсияФормата" in str(refusal(data))


def test_a_payment_over_the_ledgers_cap_is_refused_but_totals_may_exceed_it():
    largest = 10**15 - 1
    parsed = one_c_statement_parse(data=one_c_statement([LineSpec(amount=largest)] * 3))
    assert parsed.total_incoming == 3 * largest
    data = one_c_statement([LineSpec(amount=largest)])
    data = with_line(data, "Сумма=9999999999999.99", "Сумма=10000000000000.00")
    assert "more than one payment can be" in str(refusal(data))


def test_a_section_opened_inside_a_document_is_refused():
    data = one_c_statement([LineSpec(amount=100)])
    data = with_line(data, "КонецДокумента", "СекцияРасчСчет\r\nКонецДокумента")
    error = refusal(data)
    assert error.where == "line 34"
    assert "inside the СекцияДокумент opened on line 21" in str(error)


def test_an_end_of_document_without_its_document_is_refused():
    data = one_c_statement([LineSpec(amount=100)])
    data = with_line(data, "КонецФайла", "КонецДокумента\r\nКонецФайла")
    assert refusal(data).where == "line 35"


def test_the_end_of_the_file_inside_a_document_is_refused():
    data = with_line(one_c_statement([LineSpec(amount=100)]), "КонецДокумента\r\n", "")
    assert "КонецФайла inside the СекцияДокумент" in str(refusal(data))


def test_a_file_not_starting_with_the_signature_is_refused():
    data = b"X" + one_c_statement([LineSpec(amount=100)])
    assert refusal(data).where == "line 1"
