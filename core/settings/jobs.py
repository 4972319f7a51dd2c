"""Webhook processing (sync or background) and the background workers (procrastinate)."""

from core.settings.env import (  # noqa: F401 (settings, read as they are)
    PAYMENTS_CREDIT_RETRIES,
    PAYMENTS_PENDING_GRACE_SECONDS,
    PAYMENTS_PENDING_STALE_SECONDS,
    PAYMENTS_REQUEUE_CRON,
    PAYMENTS_REQUEUE_MAX,
    WEBHOOK_PROCESSING,
    WORKER_HEARTBEAT_SECONDS,
    WORKER_STALLED_AFTER_SECONDS,
)

PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": WORKER_STALLED_AFTER_SECONDS,
    "queues": ["payments"],
}
