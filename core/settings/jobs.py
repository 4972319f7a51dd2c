"""Webhook processing (sync or background) and the background workers (procrastinate)."""

from core.settings import env

WEBHOOK_PROCESSING = env.WEBHOOK_PROCESSING
WORKER_HEARTBEAT_SECONDS = env.WORKER_HEARTBEAT_SECONDS
WORKER_STALLED_AFTER_SECONDS = env.WORKER_STALLED_AFTER_SECONDS
# The requeue job (every PAYMENTS_REQUEUE_CRON) puts the running jobs of dead workers back in
# the queue and gives a new credit job to each pending payment that has none queued or running,
# at most PAYMENTS_REQUEUE_MAX times for jobs that ended (docs/background.md).
PAYMENTS_REQUEUE_CRON = env.PAYMENTS_REQUEUE_CRON
PAYMENTS_REQUEUE_MAX = env.PAYMENTS_REQUEUE_MAX
PAYMENTS_PENDING_GRACE_SECONDS = env.PAYMENTS_PENDING_GRACE_SECONDS
PAYMENTS_CREDIT_RETRIES = env.PAYMENTS_CREDIT_RETRIES
# A healthy worker credits within seconds; half an hour is the alert rule's threshold too
# (docs/operations.md).
PAYMENTS_PENDING_STALE_SECONDS = env.PAYMENTS_PENDING_STALE_SECONDS
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": WORKER_STALLED_AFTER_SECONDS,
    "queues": ["payments"],
}
