"""Indexes for the admin's prefix search and its "has pending payments" filter.

Built CONCURRENTLY: on a payments table of millions of rows a plain CREATE INDEX would block
every webhook's INSERT until it finished. So this migration is not atomic; if it stops half-way,
an INVALID index may be left behind: drop it and run the migration again.
"""

import django.contrib.postgres.indexes
import django.db.models.functions.comparison
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0003_payment_pending_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.comparison.Cast("operation_id", models.TextField()),
                    name="text_pattern_ops",
                ),
                name="payment_operation_id_prefix",
            ),
        ),
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(
                django.contrib.postgres.indexes.OpClass(
                    "document_number", name="varchar_pattern_ops"
                ),
                name="payment_document_number_prefix",
            ),
        ),
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["organization"],
                name="payment_pending_by_payer",
            ),
        ),
    ]
