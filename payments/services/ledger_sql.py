"""The SQL every crediting transaction sends, webhook or statement (payments.services.crediting,
payments.services.statement_channel); `make bench`'s pgbench script sends the same text."""

from core.prepared import sql_prepared

# The operation's lock, then its business identity's, always in this order (a statement batch
# takes all its operations' before all its identities', so no two transactions wait in a cycle).
# The identity lock serializes a webhook with a statement crediting the same payment under
# another (or no) operation id. One round trip for both.
LOCK_OPERATION = (
    "SELECT pg_advisory_xact_lock(%(operation_key)s), "
    "pg_advisory_xact_lock(%(identity_high)s, %(identity_low)s)"
)

# The webhook's transaction is one message of three statements (LOCK_OPERATION, ENSURE_PAYER,
# RECORD_PAYMENT), which PostgreSQL runs as one transaction: one round trip
# (docs/decisions/0162). Each statement takes its own snapshot, so what follows the locks sees
# everything their previous holder committed. The async pool's connections prepare the last two
# (core.prepared): a message of several statements is otherwise planned every time.

# The payer's organization, created if it does not exist and the operation is new (a repeat or a
# conflicting delivery creates nothing). A statement of its own, so RECORD_PAYMENT's credit sees
# it. DO NOTHING takes no row lock; against a concurrent creator it waits for that one's commit.
ENSURE_PAYER = sql_prepared(
    "payment_payer_ensure",
    """
    INSERT INTO organization (inn, name, balance)
    SELECT %(payer_inn)s::text, '', 0
    WHERE NOT EXISTS (SELECT FROM organization WHERE inn = %(payer_inn)s::text)
      AND NOT EXISTS (SELECT FROM payment WHERE operation_id = %(operation_id)s::uuid)
    ON CONFLICT (inn) DO NOTHING
    RETURNING id
""",
)

# Record the payment and, when it is recorded as credited, credit its organization and log it,
# in one statement. Its one row says what happened:
#   (id, balance_after, None...)        recorded (balance_after None when recorded pending);
#   (None, None, claimed id, None...)   a statement payment of the same identity, waiting for
#                                       its real operation id, took this one (its redeliveries
#                                       are then ordinary duplicates);
#   (None, None, None, *differs)        the operation id is taken: which of amount, payer_inn,
#                                       document_number and document_date differ (compared by
#                                       PostgreSQL: the dates as instants, whatever the session's
#                                       time zone).
# credited_at is the statement's time, as created_at's column default (Django's Now()) is: the
# transaction's now() would be its start, before the advisory lock's wait. With claimable, nothing
# is inserted while a statement payment of the same identity waits to be claimed. The balance
# update is the transaction's last write, so the organization's row is held only until commit.
RECORD_PAYMENT = sql_prepared(
    "payment_record",
    """
    WITH inserted AS (
        INSERT INTO payment
            (operation_id, payer_inn, amount, document_number, document_date, document_day,
             source, operation_id_synthetic, status, credited_at)
        SELECT %(operation_id)s::uuid, %(payer_inn)s::text, %(amount)s::bigint,
               %(document_number)s::text, %(document_date)s::timestamptz,
               %(document_day)s::date, %(source)s::text, %(synthetic)s::boolean,
               %(status)s::text,
               CASE WHEN %(status)s::text = 'credited' THEN statement_timestamp() END
        WHERE NOT (%(claimable)s::boolean AND EXISTS (
            SELECT FROM payment
            WHERE payer_inn = %(payer_inn)s::text
              AND document_number = %(document_number)s::text
              AND document_day = %(document_day)s::date AND amount = %(amount)s::bigint
              AND operation_id_synthetic
        ))
        ON CONFLICT (operation_id) DO NOTHING
        RETURNING id
    ),
    claimed AS (
        UPDATE payment
        SET operation_id = %(operation_id)s::uuid, operation_id_synthetic = false
        WHERE %(claimable)s::boolean
          AND NOT EXISTS (SELECT FROM payment WHERE operation_id = %(operation_id)s::uuid)
          AND id = (
            SELECT id FROM payment
            WHERE payer_inn = %(payer_inn)s::text
              AND document_number = %(document_number)s::text
              AND document_day = %(document_day)s::date AND amount = %(amount)s::bigint
              AND operation_id_synthetic
            ORDER BY id LIMIT 1
          )
        RETURNING id
    ),
    credited AS (
        UPDATE organization SET balance = balance + %(amount)s::bigint, updated_at = now()
        WHERE inn = %(payer_inn)s::text AND %(status)s::text = 'credited'
          AND EXISTS (SELECT FROM inserted)
        RETURNING id, balance
    ),
    logged AS (
        INSERT INTO balance_log (organization_id, payment_id, delta, balance_after)
        SELECT credited.id, inserted.id, %(amount)s::bigint, credited.balance
        FROM credited, inserted
        RETURNING balance_after
    )
    SELECT id, (SELECT balance_after FROM logged), NULL::bigint AS claimed_id,
           NULL::boolean AS amount_differs, NULL::boolean, NULL::boolean, NULL::boolean
    FROM inserted
    UNION ALL
    SELECT NULL, NULL, id, NULL, NULL, NULL, NULL FROM claimed
    UNION ALL
    SELECT NULL, NULL, NULL, amount <> %(amount)s::bigint, payer_inn <> %(payer_inn)s::text,
           document_number <> %(document_number)s::text,
           document_date <> %(document_date)s::timestamptz
    FROM payment
    WHERE operation_id = %(operation_id)s::uuid AND NOT EXISTS (SELECT FROM inserted)
""",
)

# The increment happens inside PostgreSQL: concurrent credits queue on the row lock and each adds
# to the committed value, so no update is lost. It runs last, so the row is held only until commit.
CREDIT_ORGANIZATION = """
    WITH credited AS (
        UPDATE organization SET balance = balance + %(amount)s, updated_at = now()
        WHERE inn = %(inn)s
        RETURNING id, balance
    )
    INSERT INTO balance_log (organization_id, payment_id, delta, balance_after)
    SELECT id, %(payment_id)s, %(amount)s, balance FROM credited
    RETURNING balance_after
"""

# The row lock taken by this UPDATE serializes concurrent runs of one payment's job; the status
# condition makes every run after the first a no-op.
MARK_PAYMENT_CREDITED = """
    UPDATE payment SET status = 'credited', credited_at = statement_timestamp()
    WHERE id = %s AND status = 'pending'
    RETURNING operation_id, payer_inn, amount
"""
