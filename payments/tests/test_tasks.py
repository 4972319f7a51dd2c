"""Background mode with real PostgreSQL and real procrastinate worker processes."""

import asyncio
import contextlib
import io
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from payments.models import BalanceLog, Organization, Payment
from payments.outcomes import PaymentOutcome
from payments.selectors import payment_pending_stale_list
from payments.services.crediting import PaymentData, payment_accept, payment_credit
from payments.services.requeue import payment_pending_requeue
from payments.tasks import CREDIT_TASK
from testsupport.api import WEBHOOK
from testsupport.database import test_database_url
from testsupport.deliveries import (
    SERVICE_INN,
    credit_jobs_run,
    operation,
    payload,
    run_concurrently,
)
from testsupport.servers import WORKER_ENV, uvicorn_server, worker_running

pytestmark = pytest.mark.django_db(transaction=True)

INN = SERVICE_INN


@pytest.fixture(autouse=True)
def empty_job_queue():
    """procrastinate's tables are not Django-managed, so the per-test flush leaves them alone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_workers"
            " CASCADE"
        )


def job_statuses() -> Counter:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, count(*) FROM procrastinate_jobs WHERE task_name = %s GROUP BY 1",
            [CREDIT_TASK],
        )
        return Counter(dict(cursor.fetchall()))


def wait_until(condition, *, seconds: float = 60, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def all_credited() -> bool:
    return not Payment.objects.filter(status=Payment.Status.PENDING).exists()


def assert_ledger_exact(ops: list[PaymentData]) -> None:
    """Every operation credited once: balance == sum, one log row per payment."""
    expected = Counter()
    for op in ops:
        expected[op.payer_inn] += op.amount
    for inn, total in expected.items():
        assert Organization.objects.get(inn=inn).balance == total
        logged = BalanceLog.objects.filter(organization__inn=inn).aggregate(s=Sum("delta"))["s"]
        assert logged == total
    assert Payment.objects.count() == len(ops)
    assert BalanceLog.objects.count() == len(ops)
    assert not Payment.objects.filter(status=Payment.Status.PENDING).exists()


@contextlib.contextmanager
def organization_locked() -> Iterator[Callable[[], None]]:
    """Another session holding the organization's row for the block, or until the unlock
    function it yields is called."""
    blocker = psycopg.connect(test_database_url(), autocommit=False)

    def unlock() -> None:
        if not blocker.closed:
            blocker.rollback()
            blocker.close()

    try:
        blocker.execute("SELECT 1 FROM organization WHERE inn = %s FOR UPDATE", [INN])
        yield unlock
    finally:
        unlock()


def test_accept_records_pending_payment_with_its_job_and_credits_nothing():
    op = operation()

    assert payment_accept(data=op).outcome is PaymentOutcome.ACCEPTED

    payment = Payment.objects.get()
    assert (payment.status, payment.credited_at) == (Payment.Status.PENDING, None)
    assert job_statuses() == {"todo": 1}
    assert Organization.objects.get(inn=INN).balance == 0
    assert BalanceLog.objects.count() == 0


def test_job_run_twice_credits_once():
    payment_accept(data=operation())
    payment_id = Payment.objects.get().id

    assert payment_credit(payment_id=payment_id) is True
    assert payment_credit(payment_id=payment_id) is False

    assert Organization.objects.get(inn=INN).balance == 1000
    assert BalanceLog.objects.count() == 1


def test_simultaneous_runs_of_one_job_credit_once():
    """20 threads run the same payment's job at once: one credit.

    Without `AND status = 'pending'` in the UPDATE that marks it credited, each run credits again.
    """
    payment_accept(data=operation())
    payment_id = Payment.objects.get().id

    results = run_concurrently(payment_credit, [{"payment_id": payment_id}] * 20)

    assert Counter(results) == {True: 1, False: 19}
    assert Organization.objects.get(inn=INN).balance == 1000


@pytest.mark.processes
def test_duplicate_storm_in_background_mode_enqueues_and_credits_once_per_operation():
    """10 operations x 6 simultaneous deliveries: 10 payments, 10 jobs; a real worker credits
    each once."""
    ops = [operation(amount=100 + i) for i in range(10)]

    outcomes = run_concurrently(payment_accept, [{"data": op} for op in ops for _ in range(6)])

    assert Counter(r.outcome for r in outcomes) == {
        PaymentOutcome.ACCEPTED: 10,
        PaymentOutcome.DUPLICATE: 50,
    }
    assert job_statuses() == {"todo": 10}
    with worker_running():
        wait_until(all_credited, what="the worker to credit every payment")
    assert_ledger_exact(ops)


@pytest.mark.processes
def test_worker_killed_mid_job_loses_nothing_and_credits_once():
    """SIGKILL a worker while its jobs hold open transactions; a new worker finishes the work.

    The organization row is locked by this test, so the first worker's jobs block inside their
    transactions (payment already marked credited, balance not yet). Killing the worker then
    rolls those transactions back and leaves the jobs "doing" under a dead worker; the new
    worker's requeue job sees the missing heartbeat, requeues them, and every operation ends
    credited exactly once. Without the stalled-job requeue, the dead worker's jobs stay "doing".
    """
    ops = [operation(amount=10 + i) for i in range(12)]
    for op in ops:
        payment_accept(data=op)
    with organization_locked(), worker_running() as first:
        wait_until(lambda: job_statuses()["doing"] >= 1, seconds=30, what="jobs in progress")
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert not all_credited()
    assert job_statuses()["doing"] >= 1

    with worker_running():
        wait_until(all_credited, what="the new worker to recover and credit everything")
    assert_ledger_exact(ops)


def test_pending_payment_whose_job_was_lost_is_requeued_once():
    payment_accept(data=operation())
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")

    assert len(payment_pending_requeue(older_than_seconds=0, max_requeues=3)) == 1
    assert payment_pending_requeue(older_than_seconds=0, max_requeues=3) == []
    assert job_statuses() == {"todo": 1}


def test_ended_credit_jobs_are_replaced_at_most_max_requeues_times():
    """Each failed or cancelled job of a pending payment gets one successor, until max_requeues
    have ended too; then the payment stays pending for an operator (max_requeues=None)."""
    payment_accept(data=operation())

    for requeue in range(2):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE procrastinate_jobs SET status = 'failed' WHERE status = 'todo'")
        assert len(payment_pending_requeue(older_than_seconds=0, max_requeues=2)) == 1, requeue
    with connection.cursor() as cursor:
        cursor.execute("UPDATE procrastinate_jobs SET status = 'failed' WHERE status = 'todo'")

    assert payment_pending_requeue(older_than_seconds=0, max_requeues=2) == []
    assert job_statuses() == {"failed": 3}
    assert len(payment_pending_requeue(older_than_seconds=0, max_requeues=None)) == 1
    assert job_statuses() == {"failed": 3, "todo": 1}


def test_credit_job_cancelled_by_an_operator_is_replaced():
    from procrastinate.contrib.django import app

    payment_accept(data=operation())
    job_id = app.job_manager.list_jobs(task=CREDIT_TASK)[0].id
    assert app.job_manager.cancel_job_by_id(job_id)

    assert len(payment_pending_requeue(older_than_seconds=0, max_requeues=3)) == 1
    assert job_statuses() == {"cancelled": 1, "todo": 1}
    assert credit_jobs_run() == 1
    assert Payment.objects.get().status == Payment.Status.CREDITED


# A credit job that fails fast: one retry, and a 300 ms wait for the organization's row lock.
FAILING_FAST = {"PAYMENTS_CREDIT_RETRIES": "1", "DB_LOCK_TIMEOUT_MS": "300"}


@pytest.mark.processes
def test_credit_job_that_failed_for_good_is_requeued():
    """A real worker's credit job exhausts its retries on a locked organization row and ends
    "failed"; once the lock is gone, the requeue gives the payment a new job and it is credited.
    """
    ops = [operation()]
    payment_accept(data=ops[0])
    with organization_locked() as unlock, worker_running(**FAILING_FAST, PAYMENTS_REQUEUE_MAX="3"):
        wait_until(lambda: job_statuses()["failed"] == 1, what="the credit job to fail")
        unlock()
        wait_until(all_credited, what="the requeue to credit the payment")
    assert job_statuses() == {"failed": 1, "succeeded": 1}
    assert_ledger_exact(ops)


@pytest.mark.processes
def test_payment_past_its_requeues_stays_pending_visibly_until_an_operator_requeues_it():
    """With the organization locked for good, the requeue job replaces the payment's failed job
    PAYMENTS_REQUEUE_MAX times, then stops; the payment stays pending, named by
    payment_pending_stale_list, until `manage.py payments_requeue` (run once the lock is gone)
    has it credited."""
    ops = [operation()]
    payment_accept(data=ops[0])
    with organization_locked() as unlock, worker_running(**FAILING_FAST, PAYMENTS_REQUEUE_MAX="1"):
        wait_until(
            lambda: job_statuses()["failed"] == 2, what="the job and its replacement to fail"
        )
        # Three more requeue runs (one a second) add no job.
        time.sleep(3)
        assert job_statuses() == {"failed": 2}
        unlock()
        [stale] = payment_pending_stale_list(older_than_seconds=0)
        assert (stale.operation_id, stale.job_status) == (ops[0].operation_id, "failed")

        call_command("payments_requeue", stdout=io.StringIO())
        wait_until(all_credited, what="the operator's requeue to be credited")
    assert job_statuses() == {"failed": 2, "succeeded": 1}
    assert payment_pending_stale_list(older_than_seconds=0) == []
    assert_ledger_exact(ops)


def metric_value(text: str, name: str) -> float:
    [line] = [line for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


@sync_to_async
def in_thread(function):
    """Run function in asgiref's worker thread, then give its connection back (else the test
    database cannot be dropped at the end of the session)."""
    try:
        return function()
    finally:
        connection.close()


def payments_backdate(*, hours: int) -> None:
    """Make every payment older, past the trigger that keeps payments immutable: as the tables'
    owner, with that trigger off inside this one transaction (docs/security.md's escape hatch)."""
    with psycopg.connect(test_database_url(owner=True)) as conn:
        conn.execute("ALTER TABLE payment DISABLE TRIGGER payment_append_only")
        conn.execute(
            "UPDATE payment SET created_at = created_at - make_interval(hours => %s)", [hours]
        )
        conn.execute("ALTER TABLE payment ENABLE TRIGGER payment_append_only")


async def test_metrics_expose_pending_count_and_oldest_age(live_server_url):
    async with httpx.AsyncClient(base_url=live_server_url, timeout=10) as client:
        before = (await client.get("/metrics")).text
        await in_thread(lambda: [payment_accept(data=operation()) for _ in range(2)])
        await in_thread(lambda: payments_backdate(hours=1))
        pending = (await client.get("/metrics")).text
        await in_thread(credit_jobs_run)
        after = (await client.get("/metrics")).text

    assert metric_value(before, "payments_pending_payments") == 0
    assert metric_value(pending, "payments_pending_payments") == 2
    assert metric_value(pending, "payments_pending_oldest_age_seconds") >= 3600
    assert metric_value(after, "payments_pending_payments") == 0
    assert metric_value(after, "payments_pending_oldest_age_seconds") == 0


@pytest.mark.processes
async def test_background_mode_end_to_end_over_http_with_a_real_worker():
    """POST -> 200 accepted at once -> status pending -> worker credits -> status credited."""
    ops = [payload(payer_inn="1111111111", amount=500 + i) for i in range(8)]
    with worker_running(), uvicorn_server(WEBHOOK_PROCESSING="background", **WORKER_ENV) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            responses = await asyncio.gather(
                *(client.post(WEBHOOK, json=op) for op in ops for _ in range(3))
            )
            statuses = Counter(r.json()["status"] for r in responses)
            first = ops[0]["operation_id"]
            deadline = time.monotonic() + 60
            while (await client.get(f"/api/operations/{first}/")).json()["status"] != "credited":
                assert time.monotonic() < deadline, "operation never credited"
                await asyncio.sleep(0.1)
            while True:
                balance = (await client.get("/api/organizations/1111111111/balance/")).json()
                if balance["balance"] == sum(op["amount"] for op in ops):
                    break
                assert time.monotonic() < deadline, f"balance stuck at {balance}"
                await asyncio.sleep(0.1)

    assert {r.status_code for r in responses} == {200}
    assert statuses == {"accepted": 8, "duplicate": 16}
