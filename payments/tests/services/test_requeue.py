"""The pending-payment requeue runs every minute: its query must stay an index lookup however many
payments and jobs have accumulated. Checked on PostgreSQL's own plan, over a loaded history."""

import json

import pytest
from django.db import connection

from loadtest.history import history_load
from payments.models import CREDIT_TASK
from payments.selectors import PENDING_STALE
from payments.services.requeue import PENDING_WITHOUT_LIVE_JOB

pytestmark = pytest.mark.django_db

PAYMENTS = 30_000


@pytest.fixture
def history() -> None:
    """30k credited payments over 300 organizations, each with its succeeded credit job as
    background mode leaves them, plus a few pending ones; then fresh planner statistics."""
    with connection.cursor() as cursor:
        history_load(cursor, first=1, count=PAYMENTS, organizations=300)
        cursor.execute(
            """
            INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)
            SELECT 'payments', %s, jsonb_build_object('payment_id', id), 'succeeded'
            FROM payment
            """,
            [CREDIT_TASK],
        )
        cursor.execute(
            """
            INSERT INTO payment (operation_id, payer_inn, amount, document_number,
                                 document_date, document_day, status, created_at)
            SELECT gen_random_uuid(), '9000000001', 100, 'PENDING', now(), current_date,
                   'pending',
                   now() - interval '1 hour'
            FROM generate_series(1, 3)
            """
        )
        cursor.execute("ANALYZE payment")
        cursor.execute("ANALYZE procrastinate_jobs")


def plan_nodes(sql: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, todo = [], [plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo += node.get("Plans", [])
    return nodes


def scans(nodes: list[dict], table: str) -> list[tuple[str, str | None]]:
    return [
        (node["Node Type"], node.get("Index Name"))
        for node in nodes
        if node.get("Relation Name") == table or table in node.get("Index Name", "")
    ]


REQUEUE_PARAMS = {"grace": 60, "task": CREDIT_TASK, "max_requeues": 3}


def test_requeue_reads_pending_payments_through_the_partial_index(history):
    nodes = plan_nodes(PENDING_WITHOUT_LIVE_JOB, REQUEUE_PARAMS)

    payment_scans = scans(nodes, "payment")
    assert payment_scans, nodes
    assert all(node_type != "Seq Scan" for node_type, _ in payment_scans), payment_scans
    assert {name for _, name in payment_scans} == {"payment_pending_created_idx"}


def test_requeue_finds_a_payments_job_through_an_index(history):
    """Jobs are kept after they succeed: one per payment in background mode."""
    nodes = plan_nodes(PENDING_WITHOUT_LIVE_JOB, REQUEUE_PARAMS)

    job_scans = scans(nodes, "procrastinate_jobs")
    assert all(node_type != "Seq Scan" for node_type, _ in job_scans), job_scans
    assert "procrastinate_jobs_credit_args_idx" in {name for _, name in job_scans}, job_scans


def test_reconcile_finds_stale_pending_payments_through_the_partial_index(history):
    nodes = plan_nodes(PENDING_STALE, {"task": CREDIT_TASK, "older": 600})

    assert {(node_type, name) for node_type, name in scans(nodes, "payment")} <= {
        ("Index Scan", "payment_pending_created_idx"),
        ("Bitmap Index Scan", "payment_pending_created_idx"),
        ("Bitmap Heap Scan", None),
    }
