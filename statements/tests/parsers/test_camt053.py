"""The camt.053 parser on hand-written documents (.02 and .08), generated ones, and hostile XML."""

import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest

from statements.errors import StatementInvalid
from statements.parsers import camt053_statement_parse, statement_parse
from statements.types import Direction, StatementFormat
from testsupport.statements import ACCOUNT, SECOND_ACCOUNT, LineSpec, camt053_statement

MOSCOW = ZoneInfo("Europe/Moscow")


def refusal(data: bytes) -> StatementInvalid:
    with pytest.raises(StatementInvalid) as caught:
        camt053_statement_parse(data=data)
    return caught.value


def edited(data: bytes, old: str, new: str) -> bytes:
    assert old.encode() in data
    return data.replace(old.encode(), new.encode(), 1)


def test_the_tasks_example_in_version_02(statement_file):
    parsed = statement_parse(data=statement_file("camt053_001_02.xml"))
    line = parsed.lines[0]
    assert line.direction is Direction.INCOMING
    assert (line.amount, line.currency, line.account) == (145000, "RUB", ACCOUNT)
    assert line.payer_inn == "1234567890"
    assert line.document_number == "PAY-328"
    assert line.document_date == datetime.date(2024, 4, 28)
    assert line.booking_date == datetime.date(2024, 4, 28)
    # No UETR in .02: the AcctSvcrRef is a UUID, so it is the operation id.
    assert line.operation_id == uuid.UUID("0f6c3b0e-2a4f-4c1e-9d7a-5b8e1c2d3f40")
    assert (line.position, line.where) == (1, "Stmt/Ntry[1]")


def test_version_02_statement(statement_file):
    parsed = statement_parse(data=statement_file("camt053_001_02.xml"))
    assert parsed.format is StatementFormat.CAMT053
    assert parsed.version == "camt.053.001.02"
    assert parsed.accounts == (ACCOUNT,)
    assert (parsed.period_start, parsed.period_end) == (datetime.date(2024, 4, 28),) * 2
    # CreDtTm without an offset is the bank's local time.
    assert parsed.created_at == datetime.datetime(2024, 4, 28, 18, 5, 31, tzinfo=MOSCOW)
    assert (parsed.opening_balance, parsed.closing_balance) == (1000000, 1120050)
    assert (parsed.total_incoming, parsed.total_outgoing) == (150050, 30000)


def test_an_account_servicer_reference_that_is_not_a_uuid_is_no_operation_id(statement_file):
    line = statement_parse(data=statement_file("camt053_001_02.xml")).lines[1]
    assert line.operation_id is None
    # A private person's TXID (scheme as a code), and a booking date from BookgDt/DtTm.
    assert line.payer_inn == "500100732259"
    assert line.booking_date == datetime.date(2024, 4, 28)
    assert line.document_date == datetime.date(2024, 4, 27)


def test_a_debit_entry_is_outgoing(statement_file):
    line = statement_parse(data=statement_file("camt053_001_02.xml")).lines[2]
    assert (line.direction, line.amount, line.document_number) == (
        Direction.OUTGOING,
        30000,
        "901",
    )


def test_the_tasks_example_in_version_08(statement_file):
    line = statement_parse(data=statement_file("camt053_001_08.xml")).lines[0]
    # UETR, the debtor nested in Dbtr/Pty, the date wrapped in RltdDt/Dt.
    assert line.operation_id == uuid.UUID("7c1e3a56-9b2d-4f8e-a1c3-2d4b6e8f0a12")
    assert (line.amount, line.payer_inn, line.document_number) == (145000, "1234567890", "PAY-328")
    assert line.document_date == datetime.date(2024, 4, 28)


def test_version_08_statement(statement_file):
    parsed = statement_parse(data=statement_file("camt053_001_08.xml"))
    assert parsed.version == "camt.053.001.08"
    assert (parsed.period_start, parsed.period_end) == (
        datetime.date(2024, 4, 27),
        datetime.date(2024, 4, 28),
    )
    # "Z" converted to the bank's zone; an overdrawn (DBIT) opening balance is negative; the
    # CLAV balance is not the closing one.
    assert parsed.created_at == datetime.datetime(2024, 4, 28, 18, 5, 31, tzinfo=MOSCOW)
    assert (parsed.opening_balance, parsed.closing_balance) == (-10000, 345000)
    assert len(parsed.lines) == 4


def test_an_entry_of_several_transactions_gives_a_line_for_each(statement_file):
    lines = statement_parse(data=statement_file("camt053_001_08.xml")).lines[1:3]
    assert [line.where for line in lines] == [
        "Stmt/Ntry[2]/NtryDtls/TxDtls[1]",
        "Stmt/Ntry[2]/NtryDtls/TxDtls[2]",
    ]
    assert [line.position for line in lines] == [2, 3]
    assert [line.amount for line in lines] == [200000, 20000]  # AmtDtls/TxAmt, then Amt
    assert [line.operation_id for line in lines] == [
        uuid.UUID("11111111-2222-4333-8444-555555555555"),
        uuid.UUID("66666666-7777-4888-9999-000000000000"),  # the TxDtls' own AcctSvcrRef
    ]
    assert [line.payer_inn for line in lines] == ["1234567890", "500100732259"]
    assert (lines[0].document_number, lines[1].document_number) == ("ПП-15", None)
    assert {line.booking_date for line in lines} == {datetime.date(2024, 4, 27)}


def test_an_entry_without_details_is_a_line_without_identity(statement_file):
    line = statement_parse(data=statement_file("camt053_001_08.xml")).lines[3]
    assert (line.direction, line.amount, line.where) == (Direction.OUTGOING, 10000, "Stmt/Ntry[3]")
    assert (line.payer_inn, line.document_number, line.operation_id) == (None, None, None)


@pytest.mark.parametrize("version", ["02", "08"])
def test_generated_documents_parse_in_each_version(version):
    operation_id = uuid.uuid4()
    specs = [
        LineSpec(amount=145000, operation_id=operation_id, document_number="A&B <1>"),
        LineSpec(amount=99, direction=Direction.OUTGOING),
        LineSpec(amount=1, account=SECOND_ACCOUNT, payer_inn=None, document_number=None),
    ]
    data = camt053_statement(specs, version=version, accounts=(ACCOUNT, SECOND_ACCOUNT))
    parsed = statement_parse(data=data)
    assert parsed.version == f"camt.053.001.{version}"
    assert parsed.accounts == (ACCOUNT, SECOND_ACCOUNT)
    assert [(line.amount, line.account, line.where) for line in parsed.lines] == [
        (145000, ACCOUNT, "Stmt/Ntry[1]"),
        (99, ACCOUNT, "Stmt/Ntry[2]"),
        (1, SECOND_ACCOUNT, "Stmt[2]/Ntry[1]"),
    ]
    assert parsed.lines[0].operation_id == operation_id
    assert parsed.lines[0].document_number == "A&B <1>"


def test_an_entity_expansion_bomb_is_refused(statement_file):
    error = refusal(statement_file("camt053_billion_laughs.xml"))
    assert error.where == "DOCTYPE"


def test_an_external_entity_is_refused(statement_file):
    error = refusal(statement_file("camt053_external_entity.xml"))
    assert error.where == "DOCTYPE"
    assert "root:" not in str(error)


def test_a_summary_that_disagrees_with_the_entries_is_refused(statement_file):
    error = refusal(statement_file("camt053_totals_mismatch.xml"))
    assert error.where == "Stmt/TxsSummry/TtlCdtNtries/Sum"
    assert "1450.00 disagrees with the entries (1500.50)" in str(error)


def test_an_entry_count_that_disagrees_is_refused():
    data = camt053_statement([LineSpec(amount=1)])
    data = edited(data, "<TtlNtries><NbOfNtries>1", "<TtlNtries><NbOfNtries>2")
    assert refusal(data).where == "Stmt/TxsSummry/TtlNtries/NbOfNtries"


def test_balances_that_do_not_add_up_are_refused():
    data = edited(
        camt053_statement([LineSpec(amount=145000)]),
        ">1450.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt>",
        ">1450.01</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt>",
    )
    error = refusal(data)
    assert error.where == "Stmt/Bal[2]/Amt"
    assert "is not the closing balance 1450.01" in str(error)


def test_without_a_summary_the_balances_still_check_the_entries():
    data = camt053_statement([LineSpec(amount=145000)], summary=False)
    assert camt053_statement_parse(data=data).total_incoming == 145000
    data = edited(data, '<Ntry><Amt Ccy="RUB">1450.00', '<Ntry><Amt Ccy="RUB">1450.10')
    assert refusal(data).where == "Stmt/Bal[2]/Amt"


def test_a_missing_closing_balance_is_refused():
    data = edited(camt053_statement([LineSpec(amount=1)]), "<Cd>CLBD</Cd>", "<Cd>CLAV</Cd>")
    assert refusal(data).where == "Stmt/Bal"


@pytest.mark.parametrize("written", ["1450.001", "-1450.00", "1 450.00", "0"])
def test_an_amount_that_is_not_positive_roubles_with_two_decimals_is_refused(written):
    data = camt053_statement([LineSpec(amount=145000)], summary=False)
    data = edited(data, '<Ntry><Amt Ccy="RUB">1450.00', f'<Ntry><Amt Ccy="RUB">{written}')
    assert refusal(data).where == "Stmt/Ntry[1]/Amt"


def test_an_entry_in_another_currency_is_refused():
    data = edited(
        camt053_statement([LineSpec(amount=1)]), '<Ntry><Amt Ccy="RUB">', '<Ntry><Amt Ccy="USD">'
    )
    error = refusal(data)
    assert error.where == "Stmt/Ntry[1]/Amt"
    assert "only RUB" in str(error)


def test_transactions_that_do_not_sum_to_their_entry_are_refused(statement_file):
    data = edited(
        statement_file("camt053_001_08.xml"),
        '<Amt Ccy="RUB">200.00</Amt>',
        '<Amt Ccy="RUB">200.01</Amt>',
    )
    assert refusal(data).where == "Stmt/Ntry[2]/NtryDtls"


def test_a_transaction_amount_that_differs_from_its_entry_is_refused(statement_file):
    data = edited(
        statement_file("camt053_001_08.xml"),
        '<Amt Ccy="RUB">1450.00</Amt>\n            <RltdPties>',
        '<Amt Ccy="RUB">1450.50</Amt>\n            <RltdPties>',
    )
    assert refusal(data).where == "Stmt/Ntry[1]/NtryDtls/TxDtls"


def test_a_uetr_that_is_not_a_uuid_is_refused(statement_file):
    data = edited(statement_file("camt053_001_08.xml"), "7c1e3a56-9b2d", "7c1e3a56-9b2x")
    assert refusal(data).where == "Stmt/Ntry[1]/NtryDtls/TxDtls/Refs/UETR"


def test_a_pending_entry_is_refused():
    data = edited(camt053_statement([LineSpec(amount=1)]), "<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>")
    assert refusal(data).where == "Stmt/Ntry[1]/Sts"


def test_a_bad_indicator_is_refused():
    data = edited(
        camt053_statement([LineSpec(amount=1)]),
        "<CdtDbtInd>CRDT</CdtDbtInd><Sts>",
        "<CdtDbtInd>CR</CdtDbtInd><Sts>",
    )
    assert refusal(data).where == "Stmt/Ntry[1]/CdtDbtInd"


def test_a_bad_document_date_is_refused(statement_file):
    data = edited(
        statement_file("camt053_001_08.xml"),
        "<Dt>2024-04-28</Dt></RltdDt>",
        "<Dt>28.04.2024</Dt></RltdDt>",
    )
    assert refusal(data).where == "Stmt/Ntry[1]/NtryDtls/TxDtls/RmtInf/Strd/RfrdDocInf/RltdDt/Dt"


@pytest.mark.parametrize("version", ["camt.053.001.04", "camt.054.001.08"])
def test_an_unsupported_version_or_message_is_refused(version):
    data = edited(camt053_statement([LineSpec(amount=1)]), "camt.053.001.08", version)
    error = refusal(data)
    assert error.where == "Document"


def test_xml_that_is_not_well_formed_is_refused_naming_its_line():
    data = edited(camt053_statement([LineSpec(amount=1)]), "</Stmt>", "</Stm>")
    assert refusal(data).where.startswith("line ")


def test_a_truncated_document_is_refused():
    data = camt053_statement([LineSpec(amount=1)])
    assert refusal(data[: len(data) // 2]).where.startswith("line ")


def test_a_document_without_a_statement_is_refused():
    data = camt053_statement([], accounts=())
    assert refusal(data).where == "BkToCstmrStmt"


def test_created_at_is_read_in_the_given_time_zone():
    data = camt053_statement([LineSpec(amount=1)])
    vladivostok = ZoneInfo("Asia/Vladivostok")
    parsed = camt053_statement_parse(data=data, tz=vladivostok)
    assert parsed.created_at == datetime.datetime(2024, 4, 28, 10, 15, tzinfo=vladivostok)


def test_an_entry_without_an_amount_is_refused():
    data = camt053_statement([LineSpec(amount=1)], summary=False)
    data = edited(data, '<Ntry><Amt Ccy="RUB">0.01</Amt>', "<Ntry>")
    error = refusal(data)
    assert error.where == "Stmt/Ntry[1]/Amt"
    assert "the amount is missing" in str(error)


def test_times_with_an_offset_fall_on_the_banks_calendar_day():
    data = camt053_statement([LineSpec(amount=1)], period=(datetime.date(2024, 4, 27),) * 2)
    data = edited(data, "2024-04-27T00:00:00", "2024-04-27T21:00:00Z")
    data = edited(data, "2024-04-27T23:59:59", "2024-04-28T20:59:59Z")
    booked_in_utc = "<BookgDt><DtTm>2024-04-27T21:30:00Z</DtTm>"
    data = edited(data, "<BookgDt><Dt>2024-04-28</Dt>", booked_in_utc)
    parsed = camt053_statement_parse(data=data)
    # 21:00 UTC is midnight in Moscow: the statement and the booking are of 28.04.
    assert (parsed.period_start, parsed.period_end) == (datetime.date(2024, 4, 28),) * 2
    assert parsed.lines[0].booking_date == datetime.date(2024, 4, 28)
    assert camt053_statement_parse(data=data, tz=ZoneInfo("UTC")).period_start == datetime.date(
        2024, 4, 27
    )


def test_a_period_bound_that_is_not_a_time_is_refused():
    data = edited(camt053_statement([LineSpec(amount=1)]), "2024-04-28T00:00:00", "28.04.2024")
    assert refusal(data).where == "Stmt/FrToDt/FrDtTm"
