"""A realistic payment history, loaded in SQL: what years of sync-mode deliveries leave behind.

    history_load(cursor, first=1, count=10_000_000, organizations=100_000)

Payments number `first`..`first + count - 1`; payment n is credited to organization 1 + n * a
large prime mod `organizations` (INNs 9000000001...), with an amount of 1..100000, three seconds
after payment n - 1 from 2025-01-01. Each gets its balance-log row in the same transaction, with
the running balance of its organization as balance_after (in payment order), and the
organizations' balances move by the same sums: exactly the rows payments.services writes for
each credit, so `manage.py reconcile` passes and so would any database guard that checks a
balance against its log. Deterministic: the same numbers give the same rows (operation_id is
md5 of the number), so a larger load can extend a smaller one (first = the previous count + 1).

Bulk mode (rebuild_indexes): the payment and balance_log tables' secondary indexes and their
unique and foreign-key constraints are dropped before the rows go in and built again after, in
the same transaction, so a failure leaves the tables as they were; building an index once over
sorted data is many times faster than ten million random insertions, and re-adding a constraint
checks every row against it (a unique violation or a dangling reference fails the load).
The caller commits, then VACUUM ANALYZEs (history_vacuum), so the benchmark that follows does not
pay for hint bits or meet autovacuum halfway.
"""

from collections.abc import Callable

from django.conf import settings

HISTORY_INN_FIRST = 9_000_000_001
HISTORY_START = "2025-01-01T00:00:00Z"
CHUNK = 1_000_000
TABLES = ("payment", "balance_log")
GUARDED_TABLES = ("organization", *TABLES)

_ORGANIZATIONS = """
    INSERT INTO organization (inn, name, balance)
    SELECT (%(inn_first)s + k - 1)::text, 'History ' || k, 0
    FROM generate_series(1, %(organizations)s) k
    ON CONFLICT (inn) DO NOTHING
"""

# 2654435761 (Knuth's multiplicative hash) spreads consecutive payments over all organizations.
_PAYMENTS = """
    WITH inserted AS (
        INSERT INTO payment (operation_id, payer_inn, amount, document_number, document_date,
                             document_day, status, created_at, credited_at)
        SELECT md5('history-' || n)::uuid,
               (%(inn_first)s + (n * 2654435761) %% %(organizations)s)::text,
               1 + (n * 48271) %% 100000,
               'HIST-' || n,
               at - interval '1 hour',
               ((at - interval '1 hour') AT TIME ZONE %(bank_time_zone)s)::date,
               'credited', at, at
        FROM generate_series(%(low)s::bigint, %(high)s::bigint) n,
             LATERAL (SELECT %(start)s::timestamptz + n * interval '3 seconds' AS at) t
        RETURNING id
    )
    SELECT min(id), max(id) FROM inserted
"""

# The credit's log row: balance_after is the organization's balance before this chunk plus its
# payments so far, in payment order, as the UPDATE ... RETURNING balance of each credit gives.
_BALANCE_LOGS = """
    INSERT INTO balance_log (organization_id, payment_id, delta, balance_after, created_at)
    SELECT o.id, p.id, p.amount,
           o.balance + sum(p.amount) OVER (PARTITION BY o.id ORDER BY p.id),
           p.credited_at
    FROM payment p JOIN organization o ON o.inn = p.payer_inn
    WHERE p.id BETWEEN %(low)s AND %(high)s
    ORDER BY p.id
"""

_BALANCES = """
    UPDATE organization o SET balance = o.balance + chunk.total, updated_at = now()
    FROM (
        SELECT organization_id, sum(delta) AS total FROM balance_log
        WHERE payment_id BETWEEN %(low)s AND %(high)s GROUP BY organization_id
    ) chunk
    WHERE o.id = chunk.organization_id
"""

# Unique and foreign-key constraints on the two tables, or referencing them; and their indexes
# that back no constraint. Primary keys stay: the load reads payments back by id.
_CONSTRAINTS = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE contype IN ('u', 'f')
      AND (conrelid = ANY(%(tables)s::regclass[]) OR confrelid = ANY(%(tables)s::regclass[]))
    ORDER BY contype DESC  -- 'u' first when re-added: a foreign key may need a unique index
"""
_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


def history_load(
    cursor,
    *,
    first: int,
    count: int,
    organizations: int,
    rebuild_indexes: bool = False,
    progress: Callable[[str], None] = lambda message: None,
) -> None:
    """Insert payments first..first+count-1 with their log rows and balances (module docstring).

    cursor: a DB-API cursor (psycopg's or Django's) inside a transaction the caller commits.
    """
    params = {"inn_first": HISTORY_INN_FIRST, "organizations": organizations}
    # The running balances sort a chunk by organization: in memory, not in temporary files.
    cursor.execute("SET LOCAL work_mem = '256MB'")
    # A bulk load moves a balance by a whole chunk's sum at once, which the ledger guards'
    # per-credit rules (payments/migrations/0005) refuse. As the tables' owner, their triggers
    # are off for this transaction only (docs/security.md's escape hatch); reconcile checks
    # the result instead. Checks deferred earlier in this transaction run now: a table with
    # pending trigger events cannot be altered.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table in GUARDED_TABLES:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    cursor.execute(_ORGANIZATIONS, params)
    constraints, indexes = [], []
    if rebuild_indexes:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute(_CONSTRAINTS, {"tables": list(TABLES)})
        constraints = cursor.fetchall()
        cursor.execute(_INDEXES, {"tables": list(TABLES)})
        indexes = cursor.fetchall()
        for table, name, _ in reversed(constraints):  # foreign keys first
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    last = first + count - 1
    for low in range(first, last + 1, CHUNK):
        high = min(low + CHUNK - 1, last)
        cursor.execute(
            _PAYMENTS,
            {
                **params,
                "low": low,
                "high": high,
                "start": HISTORY_START,
                "bank_time_zone": settings.BANK_TIME_ZONE,
            },
        )
        ids = dict(zip(("low", "high"), cursor.fetchone(), strict=True))
        cursor.execute(_BALANCE_LOGS, ids)
        cursor.execute(_BALANCES, ids)
        progress(f"payments {high - first + 1:,}/{count:,}")
    for name, definition in indexes:
        progress(f"index {name}")
        cursor.execute(definition)
    for table, name, definition in constraints:
        progress(f"constraint {name}")
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for table in GUARDED_TABLES:
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def history_vacuum(cursor) -> None:
    """VACUUM ANALYZE the loaded tables (outside a transaction: autocommit)."""
    for table in (*TABLES, "organization"):
        cursor.execute(f"VACUUM (ANALYZE) {table}")
