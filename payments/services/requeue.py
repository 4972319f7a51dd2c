"""The requeue: a new credit job for each pending payment that has none queued or running.

The periodic requeue job (payments.tasks) runs it with a bound; `manage.py payments_requeue`
without one, once an operator has fixed what made the jobs fail.
"""

import logging

from django.db import connection, transaction

from payments.models import CREDIT_TASK
from payments.services.crediting import payment_credit_defer
from payments.services.sql_steps import steps_run, timeouts_steps

logger = logging.getLogger(__name__)


# Pending payments past the grace period with no live credit job (none queued or running), with
# how many of their credit jobs ended (failed, cancelled; a succeeded one, which cannot leave its
# payment pending, counts too, so that nothing is retried without bound). Jobs are matched on
# their arguments, so the ones the requeue or an operator added count too.
PENDING_WITHOUT_LIVE_JOB = """
    SELECT p.id, count(j.id) AS ended
    FROM payment p
    LEFT JOIN procrastinate_jobs j
        ON j.task_name = %(task)s AND j.args = jsonb_build_object('payment_id', p.id)
    WHERE p.status = 'pending' AND p.created_at < now() - make_interval(secs => %(grace)s)
    GROUP BY p.id
    HAVING count(j.id) FILTER (WHERE j.status IN ('todo', 'doing', 'aborting')) = 0
       AND (%(max_requeues)s::int IS NULL OR count(j.id) <= %(max_requeues)s::int)
    ORDER BY p.id
    LIMIT 1000
"""


def payment_pending_requeue(*, older_than_seconds: int, max_requeues: int | None) -> list[int]:
    """Give a new credit job to each pending payment, older than older_than_seconds, that has
    no job queued or running; return their ids.

    That is a payment whose job was deleted (by hand, or by a job-table cleanup), or whose
    jobs all ended failed or cancelled. Crediting is idempotent, so a new job is always safe;
    max_requeues bounds how many failed or cancelled jobs a payment may have and still get one
    (None: no bound, for an operator who has fixed the cause), so that a payment that cannot be
    credited is not retried for ever: it stays pending, which payments_pending_payments and
    reconcile report.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        steps_run(timeouts_steps(), cursor)
        cursor.execute(
            PENDING_WITHOUT_LIVE_JOB,
            {"grace": older_than_seconds, "task": CREDIT_TASK, "max_requeues": max_requeues},
        )
        requeued = cursor.fetchall()
        for payment_id, ended in requeued:
            if ended == 0:
                logger.warning("requeueing pending payment without a job payment_id=%s", payment_id)
            else:
                # The last automatic retry says so, once: after it, only an operator retries.
                last = max_requeues is not None and ended == max_requeues
                logger.log(
                    logging.ERROR if last else logging.WARNING,
                    "retrying credit of pending payment whose jobs ended without crediting it"
                    " payment_id=%s ended_jobs=%s max_requeues=%s%s",
                    payment_id,
                    ended,
                    max_requeues,
                    " (last automatic retry)" if last else "",
                )
            payment_credit_defer(payment_id)
    return [payment_id for payment_id, _ in requeued]
