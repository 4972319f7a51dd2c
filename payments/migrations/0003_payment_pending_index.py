"""Indexes for the pending-payment sweep, which runs every minute in both modes.

- payment_pending_created_idx: the pending payments by age. Partial, so it holds only the few
  payments still pending, not the millions already credited.
- procrastinate_jobs_credit_args_idx: a credit job by its payment ({"payment_id": n}). Jobs are
  kept after they succeed, so in background mode there is one per payment ever received; without
  it the sweep's "has this payment a job?" reads the whole job table.
"""

from django.db import migrations, models

CREDIT_JOBS_INDEX = """
CREATE INDEX IF NOT EXISTS procrastinate_jobs_credit_args_idx
    ON procrastinate_jobs (args) WHERE task_name = 'payments.credit'
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_append_only_money_rows"),
        ("procrastinate", "0041_post_retry_failed_job"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                condition=models.Q(status="pending"),
                fields=["created_at"],
                name="payment_pending_created_idx",
            ),
        ),
        migrations.RunSQL(
            CREDIT_JOBS_INDEX, "DROP INDEX IF EXISTS procrastinate_jobs_credit_args_idx"
        ),
    ]
