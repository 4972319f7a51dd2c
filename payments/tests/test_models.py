"""The database guards the ledger (migration 0005) and the serving role owns nothing.

Each rule is tried the way a bug, a careless operator or a stolen credential would: plain SQL
that commits. As the owner (this test session's role) the ledger triggers refuse it; as the
serving role (what servers and workers log in as) privileges refuse even more.
"""

import uuid

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from payments.models import BalanceLog, Organization, Payment
from payments.services.crediting import payment_accept, payment_credit, payment_process
from testsupport.database import serving_role_only, test_database_url
from testsupport.deliveries import SERVICE_INN, operation

pytestmark = pytest.mark.django_db(transaction=True)

INN = SERVICE_INN


def owner_sql(*statements: tuple[str, list]) -> None:
    """Run statements in one transaction as this session's role (the owner) and commit."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement, params in statements:
            cursor.execute(statement, params)


def serving_sql(*statements: tuple[str, list]) -> None:
    """The same, logged in as the serving role."""
    with psycopg.connect(test_database_url()) as conn:
        for statement, params in statements:
            conn.execute(statement, params)


def balance() -> int:
    return Organization.objects.get(inn=INN).balance


@pytest.fixture
def credited() -> Payment:
    """One payment credited by the service: balance 1000, one balance_log row."""
    data = operation(amount=1000)
    payment_process(data=data)
    return Payment.objects.get(operation_id=data.operation_id)


@pytest.fixture
def pending() -> Payment:
    data = operation(amount=700)
    payment_accept(data=data)
    return Payment.objects.get(operation_id=data.operation_id)


def insert_payment_sql(*, status: str, amount: int = 500) -> tuple[str, list]:
    return (
        """
        INSERT INTO payment (operation_id, payer_inn, amount, document_number, document_date,
                             document_day, status, credited_at)
        VALUES (%s, %s, %s, 'MANUAL', now(), current_date, %s,
                CASE WHEN %s = 'credited' THEN now() END)
        """,
        [uuid.uuid4(), INN, amount, status, status],
    )


def credited_mark_sql(payment_id: int) -> tuple[str, list]:
    """The payment marked credited, as the service's credit does, without anything else."""
    return (
        "UPDATE payment SET status = 'credited', credited_at = now() WHERE id = %s",
        [payment_id],
    )


def balance_log_insert_sql(
    organization_id: int, payment_id: int, *, delta: int, balance_after: int
) -> tuple[str, list]:
    return (
        "INSERT INTO balance_log (organization_id, payment_id, delta, balance_after)"
        " VALUES (%s, %s, %s, %s)",
        [organization_id, payment_id, delta, balance_after],
    )


# --- As the owner: the triggers -------------------------------------------------------------------


@pytest.mark.parametrize("change", ["+ 1", "- 1"], ids=["raised", "lowered"])
def test_balance_changed_without_its_log_row_is_refused_even_for_the_owner(credited, change):
    with pytest.raises(IntegrityError, match="ledger rule balance_logged"):
        owner_sql((f"UPDATE organization SET balance = balance {change} WHERE inn = %s", [INN]))
    assert balance() == 1000


def test_log_row_without_its_balance_change_is_refused(credited, pending):
    org = Organization.objects.get(inn=INN)
    with pytest.raises(IntegrityError, match="ledger rule log_chain"):
        owner_sql(
            credited_mark_sql(pending.id),
            balance_log_insert_sql(org.id, pending.id, delta=700, balance_after=1700),
        )
    assert BalanceLog.objects.count() == 1


def test_log_row_that_does_not_continue_the_previous_one_is_refused(credited, pending):
    """The row says +700 and a balance of 2000 (so it claims the balance was 1300, not 1000)."""
    org = Organization.objects.get(inn=INN)
    with pytest.raises(IntegrityError, match="ledger rule log_chain"):
        owner_sql(
            credited_mark_sql(pending.id),
            balance_log_insert_sql(org.id, pending.id, delta=700, balance_after=2000),
            ("UPDATE organization SET balance = 2000 WHERE id = %s", [org.id]),
        )
    assert balance() == 1000


def test_credit_of_a_pending_payment_is_refused(credited, pending):
    """Balance and its log row move by the payment's amount, but the payment stays pending."""
    org = Organization.objects.get(inn=INN)
    with pytest.raises(IntegrityError, match="ledger rule log_credits_payment"):
        owner_sql(
            ("UPDATE organization SET balance = 1700 WHERE id = %s", [org.id]),
            balance_log_insert_sql(org.id, pending.id, delta=700, balance_after=1700),
        )
    assert balance() == 1000


def test_payment_marked_credited_by_hand_is_refused_and_the_job_still_credits_it(pending):
    with pytest.raises(IntegrityError, match="ledger rule credited_has_log"):
        owner_sql(credited_mark_sql(pending.id))
    assert payment_credit(payment_id=pending.id) is True
    assert balance() == 700


def test_payment_inserted_as_credited_without_its_log_row_is_refused(credited):
    with pytest.raises(IntegrityError, match="ledger rule credited_has_log"):
        owner_sql(insert_payment_sql(status="credited"))
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payment SET credited_at = now() - interval '1 day' WHERE id = %s",
        "UPDATE payment SET id = id + 1000 WHERE id = %s",
        "UPDATE payment SET status = 'pending', credited_at = NULL WHERE id = %s",
        "UPDATE payment SET amount = 1 WHERE id = %s",
        "DELETE FROM payment WHERE id = %s",
    ],
)
def test_credited_payment_is_immutable(credited, statement):
    with pytest.raises(IntegrityError, match="ledger rule payment_append_only"):
        owner_sql((statement, [credited.id]))
    assert Payment.objects.get(id=credited.id).credited_at == credited.credited_at


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE balance_log SET delta = 1 WHERE payment_id = %s",
        "DELETE FROM balance_log WHERE payment_id = %s",
    ],
)
def test_balance_log_row_is_immutable(credited, statement):
    with pytest.raises(IntegrityError, match="ledger rule balance_log_append_only"):
        owner_sql((statement, [credited.id]))


def test_service_credits_still_pass_every_rule_in_both_modes(credited, pending):
    """The guards refuse nothing the service does: a second sync credit, a background credit,
    a duplicate, and a credit of a new organization all commit (their deferred checks ran)."""
    payment_process(data=operation(amount=5))
    assert payment_credit(payment_id=pending.id) is True
    assert payment_credit(payment_id=pending.id) is False
    payment_process(data=operation(amount=9, payer_inn="1111111111"))
    assert balance() == 1000 + 5 + 700
    assert BalanceLog.objects.count() == 4


# --- As the serving role: privileges --------------------------------------------------------------


@serving_role_only
def test_serving_role_balance_update_without_log_is_refused_by_the_rule(credited):
    with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="balance_logged"):
        serving_sql(("UPDATE organization SET balance = balance + 1 WHERE inn = %s", [INN]))
    assert balance() == 1000


@serving_role_only
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE payment CASCADE",
        "TRUNCATE balance_log",
        "ALTER TABLE organization DISABLE TRIGGER organization_balance_logged_update",
        "ALTER TABLE payment DISABLE TRIGGER USER",
        "DROP TRIGGER balance_log_checked ON balance_log",
        "DROP FUNCTION ledger_balance_logged() CASCADE",
        "DELETE FROM payment",
        "DELETE FROM balance_log",
        "UPDATE payment SET amount = amount + 1",
        "UPDATE balance_log SET delta = delta + 1",
        "UPDATE organization SET inn = '0000000000'",
        "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
        "SET session_replication_role = replica",
    ],
)
def test_serving_role_is_refused_what_it_does_not_use(credited, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        serving_sql((statement, []))
    assert balance() == 1000
    assert BalanceLog.objects.count() == Payment.objects.count() == 1


@serving_role_only
def test_serving_role_owns_no_table_and_is_not_superuser():
    with psycopg.connect(test_database_url()) as conn:
        owned = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            " AND tableowner = current_user"
        ).fetchone()[0]
        superuser = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
    assert (owned, superuser) == (0, False)
