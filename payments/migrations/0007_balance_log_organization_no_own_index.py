"""Drop balance_log's index on organization_id alone: (organization_id, created_at) and the
unique (organization_id, balance_after) of 0005 both start with it and serve every lookup by
organization (the organization's log, the foreign key's PROTECT check). A third index on the
same column only cost every credit one more page write: in traffic spread over many
organizations, a random page, and after each checkpoint a full-page image in the WAL.

Dropped CONCURRENTLY (not atomic), so webhooks never wait for it. The index is found by its
columns rather than by Django's generated name, which a database made by hand may not have.
"""

import django.db.models.deletion
from django.db import migrations, models

# Django's name for it, used when the migration is reversed.
FOREIGN_KEY_INDEX = "balance_log_organization_id_adf637f9"


def foreign_key_index_drop(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "balance_log")
    for name, info in constraints.items():
        single = info["columns"] == ["organization_id"]
        if single and info["index"] and not (info["unique"] or info["primary_key"]):
            schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def foreign_key_index_create(apps, schema_editor):
    schema_editor.execute(
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{FOREIGN_KEY_INDEX}"'
        " ON balance_log (organization_id)"
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0006_drop_operation_id_text_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="balancelog",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="balance_logs",
                        to="payments.organization",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(foreign_key_index_drop, foreign_key_index_create),
            ],
        ),
    ]
