"""The benchmark's history loader writes what the service writes: every credited payment with its
log row and running balance, balances equal to their logs, indexes and constraints intact."""

import pytest
from django.db import connection

from loadtest.history import HISTORY_INN_FIRST, history_load
from loadtest.scale import _requeue_timing, _warm_up
from loadtest.scale_report import Point, scale_markdown, scale_plot
from payments.reconciliation import reconciliation_report
from testsupport.database import test_database_url

pytestmark = pytest.mark.django_db

SCHEMA = """
    SELECT 'index', indexname, indexdef FROM pg_indexes
    WHERE tablename IN ('payment', 'balance_log')
    UNION ALL
    SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid IN ('payment'::regclass, 'balance_log'::regclass)
    ORDER BY 1, 2
"""


def rows(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_history_in_two_loads_reconciles_with_running_balances():
    """A larger load extends a smaller one (bulk mode: indexes dropped and rebuilt)."""
    schema = rows(SCHEMA)
    with connection.cursor() as cursor:
        history_load(cursor, first=1, count=3000, organizations=50)
        history_load(cursor, first=3001, count=2000, organizations=50, rebuild_indexes=True)

    assert reconciliation_report().ok
    assert rows(SCHEMA) == schema  # every index and constraint is back, as it was
    [(payments, organizations)] = rows("SELECT count(*), count(DISTINCT payer_inn) FROM payment")
    assert (payments, organizations) == (5000, 50)
    # Each log row's balance_after is the running balance of its organization, in payment order.
    [(wrong,)] = rows(
        """
        SELECT count(*) FROM (
            SELECT balance_after,
                   sum(delta) OVER (PARTITION BY organization_id ORDER BY payment_id) AS running
            FROM balance_log
        ) logs WHERE balance_after <> running
        """
    )
    assert wrong == 0
    [(balance, last_after)] = rows(
        """
        SELECT o.balance, (SELECT balance_after FROM balance_log WHERE organization_id = o.id
                           ORDER BY payment_id DESC LIMIT 1)
        FROM organization o WHERE inn = %s
        """,
        [str(HISTORY_INN_FIRST)],
    )
    assert balance == last_after > 0


def test_scale_report_writes_a_table_and_a_picture(tmp_path):
    pytest.importorskip("matplotlib")
    points = [
        Point(rows, case, concurrency, rps, 10.0, 50.0, "CORRECT", 1.0, round_)
        for rows in (0, 1_000_000)
        for case, concurrency in (("spread", 32), ("hot", 32), ("burst", 256), ("sweep", 1))
        for round_, rps in ((1, 400.0), (2, 500.0))
    ]
    operations = {
        "requeue": {"median_ms": 0.3, "plan": ["Index Scan using payment_pending_created_idx"]},
        "reconcile": {"seconds": 9.0, "peak_rss_mb": 74, "exit_code": 0, "summary": "ok"},
        "admin": {"payments/payment": {"status": 200, "best_ms": 80.0}},
    }
    loads = [{"count": 1_000_000, "load_seconds": 50, "total_seconds": 60, "database_size": "1 GB"}]

    markdown = scale_markdown(points, loads, operations, {"cpus": 2, "note": "", "platform": "x"})
    scale_plot(points, tmp_path / "scale.png")

    assert "| 1,000,000 | spread | 32 | 450 | 400-500 | +0.0% | 10 | 50 | +0.0% | CORRECT" in (
        markdown
    )
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scale_times_the_requeues_current_query():
    """bench-scale times the requeue with the service's own SQL."""
    timing = _requeue_timing(test_database_url(), {})

    # An almost empty test database plans with sequential scans; the plan's index use at scale
    # is payments/tests/services/test_requeue.py's to prove.
    assert timing["median_ms"] >= 0
    assert isinstance(timing["plan"], list)


@pytest.mark.parametrize("concurrency", [1, 2, 32])
def test_scale_warms_up_at_any_concurrency(concurrency):
    """`--concurrency 1` must not end the run after its history has loaded."""
    config = _warm_up({"url": "http://127.0.0.1:8000"}, concurrency)

    assert config.concurrency == concurrency
    assert config.dup == min(3, concurrency)
