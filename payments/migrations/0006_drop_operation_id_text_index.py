"""Drop the index on operation_id::text: the admin's search by the start of an operation id now
reads a range of operation_id's unique index (payments.admin.search.operation_id_range).

At ten million payments it was the largest index (563 MB), and every new payment wrote to a
random page of it: after each checkpoint a full-page image in the WAL (docs/scaling.md).
Dropped CONCURRENTLY, so the webhook's INSERTs never wait for it; not atomic for that reason.
"""

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0005_ledger_guards"),
    ]

    operations = [
        RemoveIndexConcurrently(model_name="payment", name="payment_operation_id_prefix"),
    ]
