"""Payments and balance-log rows are append-only, enforced by the database itself.

A payment may only move pending -> credited (background mode); what the bank reported never
changes and no row is ever deleted. TRUNCATE (used by test teardown) is not a row operation and
is unaffected.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION balance_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'balance_log is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER balance_log_append_only
    BEFORE UPDATE OR DELETE ON balance_log
    FOR EACH ROW EXECUTE FUNCTION balance_log_append_only();

CREATE FUNCTION payment_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'payment rows cannot be deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.operation_id, NEW.payer_inn, NEW.amount, NEW.document_number, NEW.document_date,
        NEW.created_at)
       IS DISTINCT FROM
       (OLD.operation_id, OLD.payer_inn, OLD.amount, OLD.document_number, OLD.document_date,
        OLD.created_at)
       OR (OLD.status = 'credited' AND NEW.status <> 'credited') THEN
        RAISE EXCEPTION 'payment % is immutable except pending -> credited', OLD.operation_id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payment_append_only
    BEFORE UPDATE OR DELETE ON payment
    FOR EACH ROW EXECUTE FUNCTION payment_append_only();
"""

BACKWARD = """
DROP TRIGGER payment_append_only ON payment;
DROP FUNCTION payment_append_only();
DROP TRIGGER balance_log_append_only ON balance_log;
DROP FUNCTION balance_log_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
