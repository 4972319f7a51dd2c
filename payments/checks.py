"""The payments app's system checks: who may credit and who may read (core.checks has the rest).

Development (DEBUG=1) may run unsigned and token-less; production may not.
"""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from core.checks import GENERATE_HINT, MIN_TOKEN_LENGTH, production_refusals
from payments.webhook_signing import webhook_secret_key


@register(Tags.security)
def payments_settings_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    return production_refusals(_malformed_settings, _unsafe_production_settings)


def _malformed_settings() -> list[CheckMessage]:
    errors = []
    for position, secret in enumerate(settings.BANK_WEBHOOK_SECRETS, start=1):
        try:
            webhook_secret_key(secret)
        except ValueError as exc:
            errors.append(
                Error(
                    f"BANK_WEBHOOK_SECRETS entry {position} is malformed: {exc}.",
                    hint='Generate one with: python -c "import base64, secrets; '
                    "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\"",
                    id="payments.E005",
                )
            )
    if settings.WEBHOOK_TOLERANCE_SECONDS < 1:
        errors.append(Error("WEBHOOK_TOLERANCE_SECONDS must be at least 1.", id="payments.E006"))
    return errors


def _unsafe_production_settings() -> list[CheckMessage]:
    errors = []
    if not settings.BANK_WEBHOOK_SECRETS:
        errors.append(
            Error(
                "DEBUG is off but BANK_WEBHOOK_SECRETS is empty: anyone who can reach the "
                "webhook could credit any balance.",
                hint="Set BANK_WEBHOOK_SECRETS to the secret(s) the bank signs with.",
                id="payments.E002",
            )
        )
    if not settings.API_TOKENS:
        errors.append(
            Error(
                "DEBUG is off but API_TOKENS is empty: anyone could read any balance.",
                hint="Set API_TOKENS to one random token per client.",
                id="payments.E003",
            )
        )
    elif any(len(token) < MIN_TOKEN_LENGTH for token in settings.API_TOKENS):
        errors.append(
            Error(
                f"An API_TOKENS entry is shorter than {MIN_TOKEN_LENGTH} characters.",
                hint=GENERATE_HINT,
                id="payments.E008",
            )
        )
    return errors
