"""The benchmark's pgbench script: valid, and doing what the service does (its own SQL)."""

import subprocess

import pytest
from django.db import connection

from loadtest.pgbench import (
    BENCH_INN_PREFIX,
    pgbench_binary,
    pgbench_organizations_ensure,
    pgbench_script,
)
from testsupport.database import test_database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.processes
def test_pgbench_script_credits_each_operation_once_and_answers_its_repeats(tmp_path):
    """20 script runs (one operation + two repeats each) on 1 organization: 20 payments, 20
    log rows, and the balance equal to their sum, the duplicates having changed nothing."""
    script = tmp_path / "delivery.sql"
    script.write_text(pgbench_script())
    pgbench_organizations_ensure(test_database_url(), orgs=1)

    subprocess.run(
        [
            pgbench_binary(), "--no-vacuum", "--protocol", "prepared", "--client", "2",
            "--transactions", "10", "--define", "orgs=1", "--file", str(script),
            test_database_url(),
        ],
        check=True, capture_output=True,
    )  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT o.balance, count(p.id), sum(p.amount),
                   (SELECT count(*) FROM balance_log l WHERE l.organization_id = o.id)
            FROM organization o JOIN payment p ON p.payer_inn = o.inn
            WHERE o.inn = %s GROUP BY o.id
            """,
            [f"{BENCH_INN_PREFIX}01"],
        )
        balance, payments, total, log_rows = cursor.fetchone()
    assert (payments, log_rows) == (20, 20)
    assert balance == total


def test_pgbench_script_uses_the_services_statements():
    from payments.services import ledger_sql as crediting

    script = pgbench_script()
    for statement in (crediting.LOCK_OPERATION, crediting.RECORD_PAYMENT):
        head = " ".join(statement.split()).split("%")[0]
        assert head in script
    assert script.count("ON CONFLICT (operation_id) DO NOTHING RETURNING id") == 3
    assert script.count("UPDATE organization SET balance = balance +") == 3
