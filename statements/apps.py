from django.apps import AppConfig


class StatementsConfig(AppConfig):
    """The bank's account statements: import, match to the ledger, credit what was missed."""

    name = "statements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.observability.metrics import metrics_sampler_register
        from payments.reconciliation import reconciliation_check_register
        from statements.metrics import statement_discrepancies_sample
        from statements.selectors import statement_problems_list

        metrics_sampler_register(statement_discrepancies_sample)
        # payments never imports statements: reconcile learns of this check from here.
        reconciliation_check_register(name="statement", problems=statement_problems_list)
