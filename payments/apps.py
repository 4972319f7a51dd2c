import logging

from django.apps import AppConfig
from django.conf import settings

from core.observability.once import launch_first

logger = logging.getLogger(__name__)


class PaymentsConfig(AppConfig):
    name = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.observability.metrics import metrics_sampler_register
        from payments import checks  # noqa: F401  (registers the system checks)
        from payments.metrics import payment_pending_sample  # also exports the webhook's counters
        from payments.services import ledger_sql  # noqa: F401  (declares prepared statements)

        metrics_sampler_register(payment_pending_sample)

        # With DEBUG off the system check refuses to start instead. Said once per launch, not
        # by each of the launch's processes (migrate, seed, every uvicorn worker).
        if settings.DEBUG and launch_first("unprotected-warning"):
            warn_if_unprotected()


def warn_if_unprotected() -> None:
    """Say loudly that an endpoint is open (allowed in development only)."""
    if not settings.BANK_WEBHOOK_SECRETS:
        logger.warning(
            "BANK_WEBHOOK_SECRETS is empty: webhook signatures are NOT verified, anyone who can "
            "reach POST /api/webhook/bank/ can credit any balance. Development only."
        )
    if not settings.API_TOKENS:
        logger.warning(
            "API_TOKENS is empty: balances and operations are readable WITHOUT a token."
            " Development only."
        )
