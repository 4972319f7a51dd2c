"""The database guards the ledger: money moves only together with its balance-log row.

Rules (each error message starts with `ledger rule <name>:`), enforced for every role, the
tables' owner included (docs/security.md):
- balance_logged: an organization's balance changes only by a balance_log row of that organization
  whose delta is the change and whose balance_after is the new balance;
- log_chain: a balance_log row continues its organization's previous row (balance_after - delta =
  the previous balance_after, or 0 for the first) and does not pass the organization's balance, so
  the rows sum to the balance;
- log_credits_payment: a balance_log row belongs to a credited payment of that organization, with
  delta = the payment's amount;
- credited_has_log: a credited payment has its balance_log row;
- payment_append_only / balance_log_append_only: rows are never deleted; a payment only moves
  pending -> credited (credited_at set once), a balance_log row never changes.

The ledger rules are DEFERRABLE INITIALLY DEFERRED constraint triggers: they run at commit, when
the whole crediting transaction (payment, balance, log row, in any order) is there to check. A
balance only grows (delta > 0), so (organization_id, balance_after) is unique and indexed; every
check is one index probe. TRUNCATE is a privilege: the serving role does not have it.
"""

from importlib import import_module

from django.db import migrations

FORWARD = r"""
CREATE UNIQUE INDEX IF NOT EXISTS balance_log_organization_balance_after
    ON balance_log (organization_id, balance_after);

CREATE FUNCTION ledger_balance_logged() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before bigint := CASE WHEN TG_OP = 'INSERT' THEN 0 ELSE OLD.balance END;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM balance_log
        WHERE organization_id = NEW.id AND balance_after = NEW.balance
          AND delta = NEW.balance - before
    ) THEN
        RAISE EXCEPTION 'ledger rule balance_logged: the balance of organization % moved from % to % without a balance_log row of that delta',
            NEW.inn, before, NEW.balance
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER organization_balance_logged_insert
    AFTER INSERT ON organization DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.balance <> 0) EXECUTE FUNCTION ledger_balance_logged();

CREATE CONSTRAINT TRIGGER organization_balance_logged_update
    AFTER UPDATE OF balance ON organization DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.balance IS DISTINCT FROM NEW.balance)
    EXECUTE FUNCTION ledger_balance_logged();

CREATE FUNCTION ledger_log_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous bigint;
    next_before bigint;
    org_inn text;
    org_balance bigint;
    paid_status text;
    paid_amount bigint;
    paid_payer text;
BEGIN
    -- One statement (each is a round trip into the executor): the neighbouring rows of the
    -- chain, the organization and the payment.
    SELECT (SELECT max(l.balance_after) FROM balance_log l
            WHERE l.organization_id = NEW.organization_id
              AND l.balance_after < NEW.balance_after),
           (SELECT l.balance_after - l.delta FROM balance_log l
            WHERE l.organization_id = NEW.organization_id
              AND l.balance_after > NEW.balance_after
            ORDER BY l.balance_after LIMIT 1),
           o.inn, o.balance, p.status, p.amount, p.payer_inn
    INTO previous, next_before, org_inn, org_balance, paid_status, paid_amount, paid_payer
    FROM organization o, payment p
    WHERE o.id = NEW.organization_id AND p.id = NEW.payment_id;
    IF NEW.balance_after - NEW.delta <> coalesce(previous, 0)
       OR next_before <> NEW.balance_after
       OR org_balance < NEW.balance_after THEN
        RAISE EXCEPTION 'ledger rule log_chain: balance_log row % of organization % (delta %, balance_after %) does not continue its previous row (balance_after %) or passes the balance %',
            NEW.id, org_inn, NEW.delta, NEW.balance_after, coalesce(previous, 0), org_balance
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF paid_status IS DISTINCT FROM 'credited' OR paid_amount <> NEW.delta
       OR paid_payer <> org_inn THEN
        RAISE EXCEPTION 'ledger rule log_credits_payment: balance_log row % (organization %, delta %) is not the credit of payment % (status %, payer %, amount %)',
            NEW.id, org_inn, NEW.delta, NEW.payment_id, paid_status, paid_payer, paid_amount
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER balance_log_checked
    AFTER INSERT ON balance_log DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_log_checked();

CREATE FUNCTION ledger_credited_has_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM balance_log WHERE payment_id = NEW.id) THEN
        RAISE EXCEPTION 'ledger rule credited_has_log: payment % (operation %) is credited without its balance_log row',
            NEW.id, NEW.operation_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payment_credited_has_log_insert
    AFTER INSERT ON payment DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'credited') EXECUTE FUNCTION ledger_credited_has_log();

CREATE CONSTRAINT TRIGGER payment_credited_has_log_update
    AFTER UPDATE OF status ON payment DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'credited') EXECUTE FUNCTION ledger_credited_has_log();

-- 0002's rule, stricter: id and credited_at are fixed too, and the only change is the credit.
CREATE OR REPLACE FUNCTION payment_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger rule payment_append_only: payment % cannot be deleted', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.operation_id, NEW.payer_inn, NEW.amount, NEW.document_number,
        NEW.document_date, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.operation_id, OLD.payer_inn, OLD.amount, OLD.document_number,
        OLD.document_date, OLD.created_at)
       OR NOT (OLD.status = 'pending' AND NEW.status = 'credited'
               AND OLD.credited_at IS NULL AND NEW.credited_at IS NOT NULL) THEN
        RAISE EXCEPTION 'ledger rule payment_append_only: payment % only moves pending -> credited, once',
            OLD.operation_id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION balance_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rule balance_log_append_only: % of balance_log row % refused', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END $$;
"""

# Back to 0002's append-only rules by running 0002 again (its reverse, then its forward), so
# that their text stays in one place.
_0002 = import_module("payments.migrations.0002_append_only_money_rows")

BACKWARD = _0002.BACKWARD + _0002.FORWARD + r"""
DROP TRIGGER payment_credited_has_log_update ON payment;
DROP TRIGGER payment_credited_has_log_insert ON payment;
DROP FUNCTION ledger_credited_has_log();
DROP TRIGGER balance_log_checked ON balance_log;
DROP FUNCTION ledger_log_checked();
DROP TRIGGER organization_balance_logged_update ON organization;
DROP TRIGGER organization_balance_logged_insert ON organization;
DROP FUNCTION ledger_balance_logged();
DROP INDEX balance_log_organization_balance_after;
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_admin_search_indexes")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
