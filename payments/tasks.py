"""Background jobs (procrastinate, PostgreSQL-backed): crediting, and the periodic requeue that
makes sure no accepted payment stays pending because its job was lost or its worker died.

Jobs live in PostgreSQL beside the payments, so a job is committed in the same transaction as
its payment (no broker that can lose an acknowledged operation), retried with backoff, and
requeued from a dead worker (workers send heartbeats; a worker silent for longer than its
stalled timeout has its running jobs put back in the queue).
"""

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from payments.models import CREDIT_TASK
from payments.services.crediting import payment_credit
from payments.services.requeue import payment_pending_requeue

logger = logging.getLogger(__name__)

# The periodic requeue's task name, as stored in procrastinate's tables: jobs that earlier
# releases queued under it still run.
REQUEUE_TASK = "payments.sweep"


@app.task(
    name=CREDIT_TASK,
    queue="payments",
    # Retried after 2 s, 4 s, 8 s ... (PAYMENTS_CREDIT_RETRIES times); then the job ends "failed"
    # (logged at ERROR) and the requeue gives the payment a new job, a bounded number of times.
    retry=RetryStrategy(max_attempts=settings.PAYMENTS_CREDIT_RETRIES, exponential_wait=2),
)
def payment_credit_job(payment_id: int) -> None:
    payment_credit(payment_id=payment_id)


@app.periodic(cron=settings.PAYMENTS_REQUEUE_CRON)
@app.task(name=REQUEUE_TASK, queue="payments", queueing_lock=REQUEUE_TASK, pass_context=True)
async def payments_requeue_job(context, timestamp: int) -> None:
    """Requeue the running jobs of dead workers, then give a new credit job to each pending
    payment whose job is lost, failed or cancelled (at most PAYMENTS_REQUEUE_MAX times each)."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.WORKER_STALLED_AFTER_SECONDS
    )
    for job in stalled:
        logger.warning("requeueing stalled job id=%s task=%s", job.id, job.task_name)
        await manager.retry_job(job)
    await sync_to_async(payment_pending_requeue)(
        older_than_seconds=settings.PAYMENTS_PENDING_GRACE_SECONDS,
        max_requeues=settings.PAYMENTS_REQUEUE_MAX,
    )
