"""The statements app's Prometheus gauges, read from the database at each scrape (registered in
StatementsConfig.ready): money the bank never made, and lines that disagree with the ledger
(docs/operations.md has the alert rule)."""

import asyncio
import logging
import math

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from prometheus_client import Gauge

from statements.selectors import credits_unconfirmed_list, statement_conflicts_count

logger = logging.getLogger(__name__)

unconfirmed_credits = Gauge(
    "statements_unconfirmed_credits",
    "Credits that imported statements covering their day do not list.",
    multiprocess_mode="mostrecent",
)
conflicts = Gauge(
    "statements_conflicts",
    "Statement lines that conflict with the ledger (never credited).",
    multiprocess_mode="mostrecent",
)


def _counts() -> tuple[int, int]:
    return len(credits_unconfirmed_list()), statement_conflicts_count()


async def statement_discrepancies_sample() -> None:
    """Refresh the gauges; NaN (unknown) while the database cannot answer in time."""
    try:
        unconfirmed, conflicting = await asyncio.wait_for(
            sync_to_async(_counts)(), timeout=settings.HEALTH_DB_TIMEOUT_SECONDS
        )
    except (DatabaseError, psycopg.Error, asyncio.TimeoutError) as exc:
        logger.warning("statement discrepancies not sampled: %s", type(exc).__name__)
        unconfirmed_credits.set(math.nan)
        conflicts.set(math.nan)
        return
    unconfirmed_credits.set(unconfirmed)
    conflicts.set(conflicting)
