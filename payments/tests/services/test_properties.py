"""Generated inputs: properties that must hold for any sequence of deliveries, and no input
that makes the webhook answer 500."""

import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.errors import PaymentConflict
from payments.outcomes import PaymentOutcome
from payments.services.crediting import PaymentData, payment_process_async
from testsupport.deliveries import deliver_concurrently

INNS = ["1111111111", "2222222222", "333333333333"]  # new organizations, created by payment
BASE_DATE = datetime(2024, 4, 27, 21, 0, tzinfo=timezone.utc)

# One pool and one test database serve every example; each example starts from empty tables.
FUZZ_DB = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def delivery_plans(draw) -> list[PaymentData]:
    """A few operations, each delivered 1-4 times, some repeats with altered content."""
    deliveries = []
    for _ in range(draw(st.integers(1, 6))):
        original = PaymentData(
            operation_id=uuid.uuid4(),
            amount=draw(st.integers(1, 10**6)),
            payer_inn=draw(st.sampled_from(INNS)),
            document_number=draw(st.sampled_from(["PAY-1", "PAY-2"])),
            document_date=BASE_DATE + timedelta(seconds=draw(st.integers(0, 2))),
        )
        for _ in range(draw(st.integers(1, 4))):
            altered = draw(st.sampled_from([None, None, "amount", "payer_inn", "document_number"]))
            copy = original
            if altered == "amount":
                copy = replace(copy, amount=copy.amount + 1)
            elif altered == "payer_inn":
                next_inn = INNS[(INNS.index(copy.payer_inn) + 1) % len(INNS)]
                copy = replace(copy, payer_inn=next_inn)
            elif altered == "document_number":
                copy = replace(copy, document_number=copy.document_number + "-x")
            deliveries.append(copy)
    return draw(st.permutations(deliveries))


def outcome_of(result) -> PaymentOutcome | str | Exception:
    if isinstance(result, PaymentConflict):
        return "conflict"
    return result if isinstance(result, Exception) else result.outcome


async def books_empty(pool) -> None:
    async with pool.connection() as conn:
        await conn.execute("TRUNCATE balance_log, payment, organization CASCADE")


async def books_by_inn(pool) -> dict[str, tuple]:
    """Per organization: (balance, sum of its payments, sum of its log); and the row counts
    of payments and log rows under the key None."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """
            SELECT o.inn, o.balance,
                   (SELECT coalesce(sum(amount), 0) FROM payment p WHERE p.payer_inn = o.inn),
                   (SELECT coalesce(sum(delta), 0) FROM balance_log l
                    WHERE l.organization_id = o.id)
            FROM organization o
            UNION ALL
            SELECT NULL, NULL, (SELECT count(*) FROM payment), (SELECT count(*) FROM balance_log)
            """
        )
        return {inn: tuple(row) for inn, *row in await cursor.fetchall()}


async def assert_books_balance(pool) -> dict[str, int]:
    """Each balance == sum of its recorded payments == sum of its log; one log row each.
    Returns the balances."""
    books = await books_by_inn(pool)
    _, payments, log_rows = books.pop(None)
    assert payments == log_rows
    for balance, paid, logged in books.values():
        assert balance == paid == logged
    return {inn: balance for inn, (balance, _, _) in books.items()}


@pytest.mark.django_db(transaction=True)
@FUZZ_DB
@given(plan=delivery_plans())
async def test_any_sequence_of_deliveries_credits_each_first_recorded_operation_once(pool, plan):
    await books_empty(pool)
    outcomes = []
    for delivery in plan:
        try:
            outcomes.append((await payment_process_async(data=delivery)).outcome)
        except PaymentConflict:
            outcomes.append("conflict")

    recorded: dict = {}
    expected_outcomes = []
    for d in plan:
        if d.operation_id not in recorded:
            recorded[d.operation_id] = d
            expected_outcomes.append(PaymentOutcome.CREDITED)
        else:
            first = recorded[d.operation_id]
            expected_outcomes.append(PaymentOutcome.DUPLICATE if first == d else "conflict")
    assert outcomes == expected_outcomes
    expected = Counter()
    for d in recorded.values():
        expected[d.payer_inn] += d.amount
    assert await assert_books_balance(pool) == dict(expected)


@pytest.mark.django_db(transaction=True)
@FUZZ_DB
@given(plan=delivery_plans())
async def test_any_interleaving_of_concurrent_deliveries_keeps_the_books_exact(pool, plan):
    """The same plans, every delivery at once on its own pooled connection (the server's
    path): whichever copy of an operation wins is recorded once, every other copy is a
    duplicate or a conflict, and the books add up."""
    await books_empty(pool)

    outcomes = [outcome_of(r) for r in await deliver_concurrently(pool, plan)]

    assert not [o for o in outcomes if isinstance(o, Exception)]
    operations = {d.operation_id for d in plan}
    assert outcomes.count(PaymentOutcome.CREDITED) == len(operations)
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT operation_id, amount, payer_inn FROM payment")
        payments = await cursor.fetchall()
    assert len(payments) == len(operations)
    for operation_id, amount, payer_inn in payments:
        copies = [d for d in plan if d.operation_id == operation_id]
        assert (amount, payer_inn) in {(d.amount, d.payer_inn) for d in copies}
    await assert_books_balance(pool)


# --- No input makes the webhook answer 500 --------------------------------------------------
