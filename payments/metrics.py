"""The webhook's Prometheus metrics (served by core.metrics' /metrics, across worker processes)."""

from prometheus_client import Counter, Histogram

WEBHOOK_OUTCOMES = (
    "credited",
    "duplicate",
    "conflict",
    "invalid",
    "unauthorized",
    "too_large",
    "unavailable",
    "overflow",
    "error",
)

webhook_requests = Counter(
    "payments_webhook_requests",
    "Webhook deliveries answered, by outcome.",
    ["outcome"],
)
crediting_duration = Histogram(
    "payments_crediting_duration_seconds",
    "Time spent in the crediting service call (payment_process), by outcome.",
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
    if outcome == "credited" and amount is not None:
        credited_amount.inc(amount)
