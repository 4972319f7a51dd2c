from django.apps import AppConfig


class StatementsConfig(AppConfig):
    """The bank's account statements: import, match to the ledger, credit what was missed."""

    name = "statements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.observability.metrics import metrics_sampler_register
        from payments.db_roles import serving_role_privileges_register
        from payments.reconciliation import reconciliation_check_register
        from statements import checks  # noqa: F401  (registers the system checks)
        from statements.metrics import statement_discrepancies_sample
        from statements.selectors import statement_problems_list

        metrics_sampler_register(statement_discrepancies_sample)
        # payments never imports statements: reconcile learns of this check from here.
        reconciliation_check_register(name="statement", problems=statement_problems_list)
        # What an import does to its rows: stores them, then settles each line once; never a
        # DELETE, and what the bank said is never changed.
        serving_role_privileges_register(
            table="statement", privileges="SELECT, INSERT, UPDATE (imported_at)"
        )
        serving_role_privileges_register(
            table="statement_line",
            privileges="SELECT, INSERT, UPDATE (result, payment_id, differing_fields)",
        )
