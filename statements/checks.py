"""The statements app's system checks: who may import a statement (it credits money)."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from core.checks import GENERATE_HINT, MIN_TOKEN_LENGTH, production_refusals


@register(Tags.security)
def statements_settings_check(app_configs=None, **kwargs) -> list[CheckMessage]:
    return production_refusals(_malformed_settings, _unsafe_production_settings)


def _malformed_settings() -> list[CheckMessage]:
    return []  # STATEMENT_MAX_BYTES' bounds are checked where it is read (core.settings.env)


def _unsafe_production_settings() -> list[CheckMessage]:
    tokens = settings.STATEMENT_IMPORT_TOKENS
    if not tokens:
        return [
            Error(
                "DEBUG is off but STATEMENT_IMPORT_TOKENS is empty: anyone could import a "
                "statement, and so credit any balance.",
                hint="Set STATEMENT_IMPORT_TOKENS to one random token per importing client.",
                id="statements.E001",
            )
        ]
    if any(len(token) < MIN_TOKEN_LENGTH for token in tokens):
        return [
            Error(
                f"A STATEMENT_IMPORT_TOKENS entry is shorter than {MIN_TOKEN_LENGTH} characters.",
                hint=GENERATE_HINT,
                id="statements.E003",
            )
        ]
    return []
