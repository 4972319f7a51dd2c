from django.apps import AppConfig


class StatementsConfig(AppConfig):
    """The bank's account statements: import, match to the ledger, credit what was missed."""

    name = "statements"
    default_auto_field = "django.db.models.BigAutoField"
