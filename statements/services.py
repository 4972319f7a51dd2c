"""Writes: importing a bank statement into the ledger.

An import runs in steps, each its own transaction, so a statement of any size never holds locks
for long: store the statement and its lines; match what can be matched in set-based SQL; then
settle the rest in batches through payments' exactly-once statement channel. A line's result is
set in the transaction that decides it, so an import that stops halfway is resumed by importing
the same file again.
"""

from django.db import connection, transaction
from django.db.models.functions import Now

from payments.services.identity import PaymentIdentity
from payments.services.statement_channel import (
    EntrySettled,
    StatementEntry,
    payment_statement_entries_settle,
)
from statements.models import Statement, StatementLine
from statements.report import StatementReport
from statements.selectors import statement_report_build
from statements.types import Direction, ParsedStatement

# Lines per INSERT when the statement is stored.
STORE_BATCH = 10_000
# Lines per crediting transaction: its locks are held until it commits, so webhooks of the same
# payments wait at most one batch.
SETTLE_BATCH = 1000

_LINES_INSERT = """
    INSERT INTO statement_line
        (statement_id, position, "where", direction, amount, currency, account, payer_inn,
         document_number, document_date, booking_date, operation_id, result, differing_fields)
    SELECT %(statement)s::bigint, *, '{}'::varchar[] FROM unnest(
        %(position)s::int[], %(where)s::text[], %(direction)s::text[], %(amount)s::bigint[],
        %(currency)s::text[], %(account)s::text[], %(payer_inn)s::text[],
        %(document_number)s::text[], %(document_date)s::date[], %(booking_date)s::date[],
        %(operation_id)s::uuid[], %(result)s::text[])
"""

# A line with an operation id is that operation's; it conflicts if the payment says otherwise.
_MATCH_BY_OPERATION = """
    UPDATE statement_line l
    SET payment_id = p.id,
        differing_fields = array_remove(ARRAY[
            CASE WHEN p.amount <> l.amount THEN 'amount' END,
            CASE WHEN l.payer_inn IS NOT NULL AND p.payer_inn <> l.payer_inn THEN 'payer_inn' END
        ]::varchar[], NULL),
        result = CASE
            WHEN p.amount <> l.amount OR (l.payer_inn IS NOT NULL AND p.payer_inn <> l.payer_inn)
            THEN 'conflict' ELSE 'matched' END
    FROM payment p
    WHERE l.statement_id = %(statement)s AND l.result IS NULL AND l.operation_id = p.operation_id
"""

# Lines without an operation id: the k-th line of an identity (in file order) matches the k-th
# payment of it (oldest first) that no other line of this statement matched; the rest are left
# for crediting. So n lines match at most n payments, and each payment at most one line. The
# lines go through a temporary table first: this session owns it, so it may ANALYZE it (the
# serving role may not analyze statement_line), and the planner then knows how many there are
# (guessing a few, it would join a large statement by nested loops: minutes, not seconds).
_IDENTITY_LINES = """
    CREATE TEMPORARY TABLE statement_identity_lines ON COMMIT DROP AS
    SELECT id, payer_inn, document_number, document_date, amount,
           row_number() OVER (
               PARTITION BY payer_inn, document_number, document_date, amount ORDER BY position
           ) AS rank
    FROM statement_line
    WHERE statement_id = %(statement)s AND result IS NULL AND operation_id IS NULL
      AND payer_inn IS NOT NULL AND document_number IS NOT NULL AND document_date IS NOT NULL
"""

_MATCH_BY_IDENTITY = """
    WITH identities AS (
        SELECT DISTINCT payer_inn, document_number, document_date, amount
        FROM statement_identity_lines
    ), candidates AS (
        SELECT p.id, p.payer_inn, p.document_number, p.document_day, p.amount,
               row_number() OVER (
                   PARTITION BY p.payer_inn, p.document_number, p.document_day, p.amount
                   ORDER BY p.id
               ) AS rank
        FROM identities i
        JOIN payment p
          ON p.payer_inn = i.payer_inn AND p.document_number = i.document_number
         AND p.document_day = i.document_date AND p.amount = i.amount
        WHERE NOT EXISTS (
            SELECT 1 FROM statement_line t
            WHERE t.payment_id = p.id AND t.statement_id = %(statement)s
        )
    )
    UPDATE statement_line l SET payment_id = c.id, result = 'matched'
    FROM statement_identity_lines lines
    JOIN candidates c
      ON c.payer_inn = lines.payer_inn AND c.document_number = lines.document_number
     AND c.document_day = lines.document_date AND c.amount = lines.amount
     AND c.rank = lines.rank
    WHERE l.id = lines.id
"""

# What cannot be credited: no operation id matched, and not a whole identity to credit by.
_UNIDENTIFIED = """
    UPDATE statement_line SET result = 'conflict', differing_fields = ARRAY['unidentified']
    WHERE statement_id = %(statement)s AND result IS NULL
      AND (payer_inn IS NULL OR document_number IS NULL OR document_date IS NULL)
"""

_UNSETTLED = """
    SELECT id, position, payer_inn, document_number, document_date, amount, operation_id
    FROM statement_line
    WHERE statement_id = %(statement)s AND result IS NULL AND position > %(after)s
    ORDER BY position LIMIT %(limit)s
"""

# The payments of these identities that this statement's lines already hold.
_TAKEN = """
    SELECT p.payer_inn, p.document_number, p.document_day, p.amount, array_agg(p.id)
    FROM unnest(%(inn)s::text[], %(number)s::text[], %(day)s::date[], %(amount)s::bigint[])
         AS i(payer_inn, document_number, document_day, amount)
    JOIN payment p
      ON p.payer_inn = i.payer_inn AND p.document_number = i.document_number
     AND p.document_day = i.document_day AND p.amount = i.amount
    JOIN statement_line l ON l.payment_id = p.id AND l.statement_id = %(statement)s
    GROUP BY 1, 2, 3, 4
"""

_SETTLED_UPDATE = """
    UPDATE statement_line l
    SET result = u.result, payment_id = u.payment_id,
        differing_fields = string_to_array(u.differing, ',')::varchar[]
    FROM unnest(%(id)s::bigint[], %(result)s::text[], %(payment)s::bigint[], %(differing)s::text[])
         AS u(id, result, payment_id, differing)
    WHERE l.id = u.id
"""


def statement_import(*, parsed: ParsedStatement, filename: str = "") -> StatementReport:
    """Store a parsed statement, match its incoming lines to payments and credit what is missing.

    Idempotent on parsed.sha256: the same file again returns the stored report with
    already_imported=True and credits nothing. Each missed line is credited through payments'
    exactly-once path (payments.services.crediting), so a webhook of the same payment, before,
    during or after the import, never credits it twice. A line whose operation id names a
    payment that differs in amount or payer is a conflict: reported, never credited.
    """
    statement_id = _statement_store(parsed=parsed, filename=filename)
    imported = Statement.objects.filter(id=statement_id, imported_at__isnull=False).exists()
    if not imported:  # new, or stopped halfway: settle what is left
        _lines_match(statement_id=statement_id)
        _lines_settle(statement_id=statement_id)
        Statement.objects.filter(id=statement_id, imported_at__isnull=True).update(
            imported_at=Now()
        )
    return statement_report_build(statement_id=statement_id, already_imported=imported)


def _statement_store(*, parsed: ParsedStatement, filename: str) -> int:
    """Store the statement and its lines, unless this file was stored before; its id."""
    lines_incoming = sum(line.direction is Direction.INCOMING for line in parsed.lines)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO statement
                (sha256, filename, format, version, accounts, period_start, period_end,
                 created_at, opening_balance, closing_balance, total_incoming, total_outgoing,
                 lines_total, lines_incoming, lines_outgoing)
            VALUES (%s, %s, %s, %s, %s::varchar[], %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (sha256) DO NOTHING
            RETURNING id
            """,
            [
                parsed.sha256, filename[:255], parsed.format.value, parsed.version,
                list(parsed.accounts), parsed.period_start, parsed.period_end, parsed.created_at,
                parsed.opening_balance, parsed.closing_balance, parsed.total_incoming,
                parsed.total_outgoing, len(parsed.lines), lines_incoming,
                len(parsed.lines) - lines_incoming,
            ],
        )  # fmt: skip
        row = cursor.fetchone()
        if row is None:
            return Statement.objects.values_list("id", flat=True).get(sha256=parsed.sha256)
        statement_id = row[0]
        for start in range(0, len(parsed.lines), STORE_BATCH):
            chunk = parsed.lines[start : start + STORE_BATCH]
            cursor.execute(_LINES_INSERT, _lines_columns(statement_id, chunk))
    return statement_id


def _lines_columns(statement_id: int, lines) -> dict:
    outgoing = StatementLine.Result.OUTGOING.value
    return {
        "statement": statement_id,
        "position": [line.position for line in lines],
        "where": [line.where for line in lines],
        "direction": [line.direction.value for line in lines],
        "amount": [line.amount for line in lines],
        "currency": [line.currency for line in lines],
        "account": [line.account for line in lines],
        "payer_inn": [line.payer_inn for line in lines],
        "document_number": [line.document_number for line in lines],
        "document_date": [line.document_date for line in lines],
        "booking_date": [line.booking_date for line in lines],
        "operation_id": [line.operation_id for line in lines],
        "result": [outgoing if line.direction is Direction.OUTGOING else None for line in lines],
    }


def _lines_match(*, statement_id: int) -> None:
    """Match, in three set-based statements, every line the ledger already has."""
    with transaction.atomic(), connection.cursor() as cursor:
        params = {"statement": statement_id}
        cursor.execute(_MATCH_BY_OPERATION, params)
        cursor.execute("DROP TABLE IF EXISTS pg_temp.statement_identity_lines")
        cursor.execute(_IDENTITY_LINES, params)
        cursor.execute("ANALYZE pg_temp.statement_identity_lines")
        cursor.execute(_MATCH_BY_IDENTITY, params)
        cursor.execute(_UNIDENTIFIED, params)


def _lines_settle(*, statement_id: int) -> None:
    """Match or credit the remaining lines, a batch per transaction."""
    after = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _UNSETTLED, {"statement": statement_id, "after": after, "limit": SETTLE_BATCH}
            )
            rows = cursor.fetchall()
            if not rows:
                return
            after = rows[-1][1]
            identities = [
                PaymentIdentity(
                    payer_inn=inn, document_number=number, document_day=day, amount=amount
                )
                for _, _, inn, number, day, amount, _ in rows
            ]
            taken = _taken(cursor, statement_id, identities)
            entries = [
                StatementEntry(
                    identity=identity,
                    operation_id=row[6],
                    taken=frozenset(taken.get(identity, ())),
                )
                for row, identity in zip(rows, identities, strict=True)
            ]
            settled = payment_statement_entries_settle(entries=entries)
            cursor.execute(_SETTLED_UPDATE, _settled_columns(rows, settled))


def _taken(cursor, statement_id: int, identities: list[PaymentIdentity]) -> dict:
    unique = list(set(identities))
    cursor.execute(
        _TAKEN,
        {
            "statement": statement_id,
            "inn": [identity.payer_inn for identity in unique],
            "number": [identity.document_number for identity in unique],
            "day": [identity.document_day for identity in unique],
            "amount": [identity.amount for identity in unique],
        },
    )
    return {
        PaymentIdentity(payer_inn=inn, document_number=number, document_day=day, amount=amount): ids
        for inn, number, day, amount, ids in cursor.fetchall()
    }


def _settled_columns(rows, settled: list[EntrySettled]) -> dict:
    results = {"credited": StatementLine.Result.CREDITED, "duplicate": StatementLine.Result.MATCHED}
    return {
        "id": [row[0] for row in rows],
        "result": [
            StatementLine.Result.CONFLICT.value
            if entry.outcome is None
            else results[entry.outcome.value].value
            for entry in settled
        ],
        "payment": [entry.payment_id for entry in settled],
        "differing": [",".join(entry.differing_fields) for entry in settled],
    }
