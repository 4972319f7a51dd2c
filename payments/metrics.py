"""The payments app's Prometheus metrics, served by core.observability.metrics' /metrics.

The webhook's counters, and the pending-payment gauges read from the database at each scrape
(registered in PaymentsConfig.ready). A pending payment is money the bank was told "accepted"
and no balance shows yet: a count that stays up, or an oldest age that keeps growing, means
credit jobs are failing (docs/operations.md has the alert rule).
"""

import asyncio
import logging
import math

import psycopg
from django.conf import settings
from django.db import DatabaseError
from prometheus_client import Counter, Gauge, Histogram

from payments.outcomes import WEBHOOK_OUTCOMES, PaymentOutcome
from payments.selectors import payment_pending_summary

logger = logging.getLogger(__name__)

webhook_requests = Counter(
    "payments_webhook_requests",
    "Webhook deliveries answered, by outcome.",
    ["outcome"],
)
crediting_duration = Histogram(
    "payments_crediting_duration_seconds",
    "Time spent in the crediting service call (payment_receive), by outcome.",
    ["outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
credited_amount = Counter(
    "payments_credited_minor_units",
    "Sum of the amounts credited to organizations, in minor units (kopecks).",
)
# Every outcome is exported from the start (at 0), so rate() works before its first event.
for _outcome in WEBHOOK_OUTCOMES:
    webhook_requests.labels(_outcome)


def webhook_record(*, outcome: str, amount: int | None, crediting_ms: float | None) -> None:
    """Count one answered webhook delivery."""
    webhook_requests.labels(outcome).inc()
    if crediting_ms is not None:
        crediting_duration.labels(outcome).observe(crediting_ms / 1000)
    if outcome == PaymentOutcome.CREDITED.value and amount is not None:
        credited_amount.inc(amount)


# "mostrecent": whichever worker answered the latest scrape has the current value.
pending_payments = Gauge(
    "payments_pending_payments",
    "Payments accepted (background mode) and not credited yet.",
    multiprocess_mode="mostrecent",
)
pending_oldest_age = Gauge(
    "payments_pending_oldest_age_seconds",
    "How long the oldest pending payment has waited; 0 when none is pending.",
    multiprocess_mode="mostrecent",
)


async def payment_pending_sample() -> None:
    """Refresh the pending gauges; NaN (unknown) while the database cannot answer. Waits at most
    HEALTH_DB_TIMEOUT_SECONDS, as /readyz does, so a scrape stays quick with the database down."""
    try:
        summary = await asyncio.wait_for(
            payment_pending_summary(), timeout=settings.HEALTH_DB_TIMEOUT_SECONDS
        )
    except (DatabaseError, psycopg.Error, asyncio.TimeoutError) as exc:
        logger.warning("pending payments not sampled: %s", type(exc).__name__)
        pending_payments.set(math.nan)
        pending_oldest_age.set(math.nan)
        return
    pending_payments.set(summary.count)
    pending_oldest_age.set(summary.oldest_age_seconds)
