"""Races on the path a server runs: payment_process_async on the async pool (core.db), each
delivery in its own transaction on its own pooled connection, so PostgreSQL runs them
concurrently and nothing in this process serializes them but the service's lock, ON CONFLICT
and the in-SQL increment. transaction=True: each delivery must really commit for the others
to see it.
"""

from collections import Counter

import pytest

from payments.outcomes import PaymentOutcome
from testsupport.deliveries import SERVICE_INN, books, deliver_concurrently, operation

pytestmark = pytest.mark.django_db(transaction=True)

INN = SERVICE_INN


async def outcomes_of(pool, deliveries: list) -> Counter:
    results = await deliver_concurrently(pool, deliveries)
    return Counter(r if isinstance(r, Exception) else r.outcome for r in results)


async def organization_create(pool, inn: str = INN) -> None:
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO organization (inn, name) VALUES (%s, '')", [inn])


async def test_simultaneous_deliveries_of_one_operation_credit_once(pool):
    """25 deliveries of one operation at once: one credit, one payment, one log row.

    Without the advisory lock and ON CONFLICT, copies end in UniqueViolation, not DUPLICATE.
    """
    await organization_create(pool)
    op = operation()

    outcomes = await outcomes_of(pool, [op] * 25)

    assert outcomes == {PaymentOutcome.CREDITED: 1, PaymentOutcome.DUPLICATE: 24}
    assert await books(pool) == (1000, 1, 1, 1000)


async def test_simultaneous_distinct_operations_for_one_organization_sum_exactly(pool):
    """120 different operations for one organization at once: the balance is the exact sum,
    and every log row's balance_after is distinct (the credits were applied one after another).

    With read-then-write instead of the in-SQL increment, updates are lost (the guards refuse).
    """
    await organization_create(pool)
    calls = [operation(amount=amount) for amount in range(1, 121)]

    outcomes = await outcomes_of(pool, calls)

    assert outcomes == {PaymentOutcome.CREDITED: 120}
    assert await books(pool) == (7260, 120, 120, 7260)
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT count(DISTINCT balance_after) FROM balance_log")
        assert await cursor.fetchone() == (120,)


async def test_simultaneous_first_payments_for_a_new_inn_create_one_organization(pool):
    """30 first payments for an INN nobody has seen: one organization, the exact sum.

    Without ENSURE_PAYER's ON CONFLICT, credits die in UniqueViolation.
    """
    new_inn = "500100732259"
    # Distinct document numbers: one identity would serialize them on its lock instead.
    calls = [operation(payer_inn=new_inn, amount=10, document_number=f"PAY-{n}") for n in range(30)]

    outcomes = await outcomes_of(pool, calls)

    assert outcomes == {PaymentOutcome.CREDITED: 30}
    assert await books(pool, new_inn) == (300, 30, 30, 300)


async def test_duplicate_storm_over_many_operations_credits_each_once(pool):
    """40 operations x 4 copies, all at once, over 3 organizations: every balance is exact.

    Fails under each of the three breakages above.
    """
    inns = ["1111111111", "2222222222", "3333333333"]
    ops = [operation(payer_inn=inns[i % 3], amount=100 + i) for i in range(40)]

    outcomes = await outcomes_of(pool, [op for op in ops for _ in range(4)])

    assert outcomes == {PaymentOutcome.CREDITED: 40, PaymentOutcome.DUPLICATE: 120}
    for inn in inns:
        expected = sum(op.amount for op in ops if op.payer_inn == inn)
        count = sum(1 for op in ops if op.payer_inn == inn)
        assert await books(pool, inn) == (expected, count, count, expected)
