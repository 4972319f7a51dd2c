"""The SQL every crediting transaction sends, webhook or statement (payments.services.crediting,
payments.services.statement_channel); `make bench`'s pgbench script sends the same text."""

# The operation's lock, then its business identity's, always in this order (a statement batch
# takes all its operations' before all its identities', so no two transactions wait in a cycle).
# The identity lock serializes a webhook with a statement crediting the same payment under
# another (or no) operation id. One round trip for both.
LOCK_OPERATION = (
    "SELECT pg_advisory_xact_lock(%(operation_key)s), "
    "pg_advisory_xact_lock(%(identity_high)s, %(identity_low)s)"
)

# credited_at is the statement's time, as created_at's column default (Django's Now()) is: the
# transaction's now() would be its start, before the advisory lock's wait, so a payment would
# read as credited before it was created. With claimable, nothing is inserted while a statement
# payment of the same identity still waits for its real operation id (CLAIM_SYNTHETIC takes it).
_INSERTED = """
    INSERT INTO payment
        (operation_id, payer_inn, amount, document_number, document_date, document_day,
         source, operation_id_synthetic, status, credited_at)
    SELECT %(operation_id)s::uuid, %(payer_inn)s::text, %(amount)s::bigint,
           %(document_number)s::text, %(document_date)s::timestamptz, %(document_day)s::date,
           %(source)s::text, %(synthetic)s::boolean, %(status)s::text,
           CASE WHEN %(status)s::text = 'credited' THEN statement_timestamp() END
    WHERE NOT (%(claimable)s::boolean AND EXISTS (
        SELECT 1 FROM payment
        WHERE payer_inn = %(payer_inn)s::text AND document_number = %(document_number)s::text
          AND document_day = %(document_day)s::date AND amount = %(amount)s::bigint
          AND operation_id_synthetic
    ))
    ON CONFLICT (operation_id) DO NOTHING
    RETURNING id
"""

# Which of the stored payment's fields differ from this delivery (PAYMENT_FIELDS_DIFFERING's
# columns), when nothing was inserted.
_STORED_DIFFERING = """
    amount <> %(amount)s::bigint, payer_inn <> %(payer_inn)s::text,
           document_number <> %(document_number)s::text,
           document_date <> %(document_date)s::timestamptz
    FROM payment
    WHERE operation_id = %(operation_id)s::uuid AND NOT EXISTS (SELECT FROM inserted)
"""

# Its row: (id, None...) when inserted; else, in the same round trip, (None, None, *what
# PAYMENT_FIELDS_DIFFERING compares) for the payment this statement's snapshot holds under the
# operation id; no row when it holds none (then PAYMENT_FIELDS_DIFFERING is asked apart). The
# second column is INSERT_AND_CREDIT's balance, always None here: one row shape for both.
INSERT_PAYMENT = f"""
    WITH inserted AS ({_INSERTED})
    SELECT id, NULL::bigint AS balance_after, NULL::boolean AS amount_differs, NULL::boolean,
           NULL::boolean, NULL::boolean
    FROM inserted
    UNION ALL SELECT NULL, NULL, {_STORED_DIFFERING}
"""  # noqa: S608 (this module's constants, no input)

# INSERT_PAYMENT and, when it inserts, CREDIT_ORGANIZATION, in one statement: the sync-mode
# transaction's common case in one round trip after its locks (docs/decisions/0162). Its row:
# (id, balance_after, None...) when inserted and credited; (id, None, None...) when inserted into
# an organization that does not exist yet (then ENSURE_ORGANIZATION and CREDIT_ORGANIZATION
# follow); else (None, *INSERT_PAYMENT's comparison), or no row, as INSERT_PAYMENT. The balance
# update runs last in the transaction's last statement, so the organization's row is held only
# until the commit that follows.
INSERT_AND_CREDIT = f"""
    WITH inserted AS ({_INSERTED}),
    credited AS (
        UPDATE organization SET balance = balance + %(amount)s::bigint, updated_at = now()
        WHERE inn = %(payer_inn)s::text AND EXISTS (SELECT FROM inserted)
        RETURNING id, balance
    ),
    logged AS (
        INSERT INTO balance_log (organization_id, payment_id, delta, balance_after)
        SELECT credited.id, inserted.id, %(amount)s::bigint, credited.balance
        FROM credited, inserted
        RETURNING balance_after
    )
    SELECT id, (SELECT balance_after FROM logged), NULL::boolean, NULL::boolean,
           NULL::boolean, NULL::boolean
    FROM inserted
    UNION ALL SELECT NULL, NULL, {_STORED_DIFFERING}
"""  # noqa: S608 (this module's constants, no input)

# A delivery with a new operation id whose identity a statement credited first: the statement's
# (oldest such) payment takes the delivery's operation id, so GET /api/operations/<id>/ finds it
# and its redeliveries are ordinary duplicates. The append-only trigger allows this change once.
CLAIM_SYNTHETIC = """
    UPDATE payment SET operation_id = %(operation_id)s, operation_id_synthetic = false
    WHERE id = (
        SELECT id FROM payment
        WHERE payer_inn = %(payer_inn)s AND document_number = %(document_number)s
          AND document_day = %(document_day)s AND amount = %(amount)s AND operation_id_synthetic
        ORDER BY id LIMIT 1
    )
    RETURNING id
"""

# DO NOTHING takes no row lock, so creating a missing organization costs the others nothing.
ENSURE_ORGANIZATION = """
    INSERT INTO organization (inn, name, balance) VALUES (%s, '', 0)
    ON CONFLICT (inn) DO NOTHING
    RETURNING id
"""

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

# Which fields of the stored payment differ from this delivery, compared by PostgreSQL: the
# dates as instants, so neither the session's time zone nor its DST folds can matter.
PAYMENT_FIELDS_DIFFERING = """
    SELECT amount <> %(amount)s, payer_inn <> %(payer_inn)s,
           document_number <> %(document_number)s, document_date <> %(document_date)s
    FROM payment WHERE operation_id = %(operation_id)s
"""

# The row lock taken by this UPDATE serializes concurrent runs of one payment's job; the status
# condition makes every run after the first a no-op.
MARK_PAYMENT_CREDITED = """
    UPDATE payment SET status = 'credited', credited_at = statement_timestamp()
    WHERE id = %s AND status = 'pending'
    RETURNING operation_id, payer_inn, amount
"""
