"""The payments gauges read from the database at each scrape (registered in PaymentsConfig.ready).

A pending payment is money the bank was told "accepted" and no balance shows yet: background mode
credits it within seconds, so a count that stays up, or an oldest age that keeps growing, means
credit jobs are failing (docs/operations.md has the alert rule).
"""

import asyncio
import logging
import math

import psycopg
from django.conf import settings
from django.db import DatabaseError
from prometheus_client import Gauge

from payments.selectors import payment_pending_summary

logger = logging.getLogger(__name__)

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
