"""A payment's channel (webhook or statement) and its business identity (issue 22).

document_day is document_date's calendar date in the bank's zone; existing rows get it from
settings.BANK_TIME_ZONE at migration time. The append-only trigger now also keeps source and
document_day fixed, and lets operation_id change exactly once: from the uuid5 a statement gave a
payment (operation_id_synthetic) to the real id of the first webhook of the same identity.
"""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import migrations, models
from django.db.models import F

TRIGGER_FORWARD = """
-- 0005's rule, with the statement's columns fixed too, and one more change allowed: the claim.
CREATE OR REPLACE FUNCTION payment_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger rule payment_append_only: payment % cannot be deleted', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.payer_inn, NEW.amount, NEW.document_number, NEW.document_date,
        NEW.document_day, NEW.source, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.payer_inn, OLD.amount, OLD.document_number, OLD.document_date,
        OLD.document_day, OLD.source, OLD.created_at)
       OR NOT (
           -- the credit of a pending payment
           (OLD.status = 'pending' AND NEW.status = 'credited'
            AND OLD.credited_at IS NULL AND NEW.credited_at IS NOT NULL
            AND NEW.operation_id = OLD.operation_id
            AND NEW.operation_id_synthetic = OLD.operation_id_synthetic)
           -- a statement payment takes the real operation id of its webhook, once
           OR (OLD.operation_id_synthetic AND NOT NEW.operation_id_synthetic
               AND NEW.status = OLD.status
               AND NEW.credited_at IS NOT DISTINCT FROM OLD.credited_at)
       ) THEN
        RAISE EXCEPTION 'ledger rule payment_append_only: payment % only moves pending -> credited, or takes its webhook''s operation id, once',
            OLD.operation_id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
"""

# Back to 0005's function (its text stays in one place).
_0005 = import_module("payments.migrations.0005_ledger_guards")
TRIGGER_BACKWARD = _0005.FORWARD[_0005.FORWARD.index("CREATE OR REPLACE FUNCTION payment_append_only") :]


def document_day_fill(apps, schema_editor):
    # The append-only rule refuses every other UPDATE; migrate runs as the tables' owner.
    schema_editor.execute("ALTER TABLE payment DISABLE TRIGGER payment_append_only")
    schema_editor.execute(
        "UPDATE payment SET document_day = (document_date AT TIME ZONE %s)::date",
        [settings.BANK_TIME_ZONE],
    )
    schema_editor.execute("ALTER TABLE payment ENABLE TRIGGER payment_append_only")


class Migration(migrations.Migration):
    dependencies = [("payments", "0007_balance_log_organization_no_own_index")]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="operation_id_synthetic",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="payment",
            name="source",
            field=models.CharField(
                choices=[("webhook", "Webhook"), ("statement", "Statement")],
                db_default="webhook",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="payment", name="document_day", field=models.DateField(null=True)
        ),
        migrations.RunPython(document_day_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="payment", name="document_day", field=models.DateField()
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                OpClass(F("organization"), name="varchar_pattern_ops"),
                F("document_number"),
                F("document_day"),
                F("amount"),
                name="payment_identity",
            ),
        ),
        # payment_identity starts with payer_inn (pattern ops: prefix search too): the foreign
        # key's own two indexes only cost every credit two more index entries.
        migrations.AlterField(
            model_name="payment",
            name="organization",
            field=models.ForeignKey(
                db_column="payer_inn",
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="payments.organization",
                to_field="inn",
            ),
        ),
        migrations.RunSQL(TRIGGER_FORWARD, TRIGGER_BACKWARD),
    ]
