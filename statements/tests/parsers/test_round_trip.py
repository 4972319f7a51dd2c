"""Any statement the generator writes, in either format, version and encoding, parses back to
the lines it was written from (a property test over amounts, identities and accounts)."""

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from statements.parsers import statement_parse
from statements.types import Direction
from testsupport.statements import (
    ACCOUNT,
    SECOND_ACCOUNT,
    LineSpec,
    camt053_statement,
    one_c_statement,
)

# Letters both 1C codecs hold (cp866 has no "№"), spaces kept exactly, no line breaks.
NUMBER_ALPHABET = "ABZabz019-/ _.АБЯабя"

line_specs = st.builds(
    LineSpec,
    amount=st.integers(min_value=1, max_value=10**15 - 1),
    direction=st.sampled_from(Direction),
    payer_inn=st.none() | st.from_regex(r"[0-9]{10}|[0-9]{12}", fullmatch=True),
    document_number=st.text(NUMBER_ALPHABET, min_size=1, max_size=20),
    document_date=st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)),
    booking_date=st.none() | st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)),
    operation_id=st.none() | st.uuids(version=4),
    account=st.sampled_from([ACCOUNT, SECOND_ACCOUNT]),
)


def expected(spec: LineSpec, *, with_operation_id: bool) -> tuple:
    return (
        spec.amount,
        spec.direction,
        spec.account,
        spec.payer_inn,
        spec.document_number,
        spec.document_date,
        spec.booking_date or spec.document_date,
        spec.operation_id if with_operation_id else None,
    )


def actual(parsed) -> list[tuple]:
    return [
        (
            line.amount,
            line.direction,
            line.account,
            line.payer_inn,
            line.document_number,
            line.document_date,
            line.booking_date,
            line.operation_id,
        )
        for line in parsed.lines
    ]


def by_account(specs: list[LineSpec]) -> list[LineSpec]:
    """camt.053 writes one Stmt per account, so lines come back grouped by account."""
    accounts = (ACCOUNT, SECOND_ACCOUNT)
    return [spec for account in accounts for spec in specs if spec.account == account]


@settings(max_examples=60, deadline=None)
@given(
    specs=st.lists(line_specs, max_size=8),
    encoding=st.sampled_from(["Windows", "DOS"]),
    version=st.sampled_from(["1.02", "1.03"]),
    opening=st.integers(min_value=-(10**12), max_value=10**12),
)
def test_1c_round_trip(specs, encoding, version, opening):
    data = one_c_statement(
        specs,
        accounts=(ACCOUNT, SECOND_ACCOUNT),
        encoding=encoding,
        version=version,
        opening_balance=opening,
    )
    parsed = statement_parse(data=data)
    assert actual(parsed) == [expected(spec, with_operation_id=False) for spec in specs]
    incoming = sum(spec.amount for spec in specs if spec.direction is Direction.INCOMING)
    outgoing = sum(spec.amount for spec in specs if spec.direction is Direction.OUTGOING)
    assert (parsed.total_incoming, parsed.total_outgoing) == (incoming, outgoing)
    assert parsed.closing_balance == 2 * opening + incoming - outgoing


@settings(max_examples=60, deadline=None)
@given(
    specs=st.lists(line_specs, max_size=8),
    version=st.sampled_from(["02", "08"]),
    opening=st.integers(min_value=-(10**12), max_value=10**12),
)
def test_camt053_round_trip(specs, version, opening):
    data = camt053_statement(
        specs, accounts=(ACCOUNT, SECOND_ACCOUNT), version=version, opening_balance=opening
    )
    parsed = statement_parse(data=data)
    assert actual(parsed) == [expected(spec, with_operation_id=True) for spec in by_account(specs)]
    assert [line.position for line in parsed.lines] == list(range(1, len(specs) + 1))
    assert parsed.opening_balance == 2 * opening
