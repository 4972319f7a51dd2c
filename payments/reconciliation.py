"""Every balance against its ledger, summed in PostgreSQL (`manage.py reconcile`)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction


@dataclass(frozen=True)
class OrganizationReconciliation:
    """One organization's balance next to the two records it must equal."""

    inn: str
    balance: int
    log_total: int
    credited_total: int
    log_rows: int
    credited_payments: int

    @property
    def ok(self) -> bool:
        return (
            self.balance == self.log_total == self.credited_total
            and self.log_rows == self.credited_payments
        )


@dataclass
class ReconciliationReport:
    organizations_checked: int = 0
    # The organizations that differ (every organization with include_ok), ordered by INN.
    organizations: list[OrganizationReconciliation] = field(default_factory=list)
    organizations_mismatched: int = 0
    # "<operation_id>: <what is wrong>" for each payment whose log row is missing or disagrees.
    payment_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.payment_problems and not self.organizations_mismatched


# Checks beyond the ledger's own, registered by the apps that build on payments (from their
# AppConfig.ready: payments imports none of them). reconcile runs each and fails on any problem.
_EXTRA_CHECKS: dict[str, Callable[[], list[str]]] = {}


def reconciliation_check_register(*, name: str, problems: Callable[[], list[str]]) -> None:
    """Have `manage.py reconcile` also run problems(): each string it returns is one problem,
    printed as "<name> <problem>", and fails the reconciliation."""
    _EXTRA_CHECKS[name] = problems


def reconciliation_extra_problems() -> list[str]:
    """Every registered check's problems, each prefixed with its check's name."""
    return [
        f"{name} {problem}" for name, problems in _EXTRA_CHECKS.items() for problem in problems()
    ]


# Sums per organization, each side aggregated on its own so that no row is counted twice: the log
# by the organization it credited, the credited payments by their payer. Kept in a temporary
# table dropped at commit, so nothing outlives the check (through a transaction pooler too: the
# whole check is one transaction).
_PARTIAL_TABLE = """
    CREATE TEMPORARY TABLE reconciliation_partial (
        organization_id bigint, log_total numeric, log_rows bigint,
        credited_total numeric, credited_payments bigint
    ) ON COMMIT DROP
"""


_LOG_SUMS = """
    INSERT INTO reconciliation_partial
    SELECT organization_id, sum(delta), count(*), 0, 0 FROM balance_log GROUP BY organization_id
"""


_CREDITED_SUMS = """
    INSERT INTO reconciliation_partial
    SELECT o.id, 0, 0, credited.total, credited.n
    FROM (
        SELECT payer_inn, sum(amount) AS total, count(*) AS n
        FROM payment WHERE status = 'credited' GROUP BY payer_inn
    ) credited
    JOIN organization o ON o.inn = credited.payer_inn
"""


# A credited payment must have exactly one log row, for its own payer and its own amount; a
# payment that is not credited (background mode's pending) must have none. One range of payment
# ids per statement: both sides are read through their id indexes, range by range.
_PAYMENT_PROBLEMS = """
    SELECT p.operation_id::text,
           CASE
               WHEN p.status = 'credited' AND b.id IS NULL THEN 'credited but no balance_log row'
               WHEN p.status <> 'credited' AND b.id IS NOT NULL THEN
                   'balance_log row for a payment that is ' || p.status
               WHEN o.inn <> p.payer_inn THEN
                   'balance_log credits ' || o.inn || ', payer is ' || p.payer_inn
               ELSE 'balance_log delta ' || b.delta || ' <> amount ' || p.amount
           END
    FROM payment p
    LEFT JOIN balance_log b
        ON b.payment_id = p.id AND b.payment_id >= %(low)s AND b.payment_id < %(high)s
    LEFT JOIN organization o ON o.id = b.organization_id
    WHERE p.id >= %(low)s AND p.id < %(high)s
      AND ((p.status = 'credited') <> (b.id IS NOT NULL)
           OR o.inn <> p.payer_inn
           OR b.delta <> p.amount)
    ORDER BY p.id
"""


_ORGANIZATION_TOTALS = """
    SELECT * FROM (
        SELECT o.inn, o.balance,
               coalesce(t.log_total, 0)::bigint AS log_total,
               coalesce(t.credited_total, 0)::bigint AS credited_total,
               coalesce(t.log_rows, 0)::bigint AS log_rows,
               coalesce(t.credited_payments, 0)::bigint AS credited_payments
        FROM organization o
        LEFT JOIN (
            SELECT organization_id, sum(log_total) AS log_total, sum(log_rows) AS log_rows,
                   sum(credited_total) AS credited_total,
                   sum(credited_payments) AS credited_payments
            FROM reconciliation_partial GROUP BY organization_id
        ) t ON t.organization_id = o.id
    ) totals
    WHERE %(include_ok)s
       OR NOT (balance = log_total AND log_total = credited_total AND log_rows = credited_payments)
    ORDER BY inn
"""


# Payment ids per statement of the per-payment check (a fraction of a second each).
RECONCILIATION_CHUNK = 500_000


# Rows fetched per round trip when the organizations are streamed.
_FETCH_ROWS = 2_000


def reconciliation_report(
    *,
    include_ok: bool = False,
    on_organization: Callable[[OrganizationReconciliation], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReconciliationReport:
    """Check every balance against its ledger, in the database: balance == sum of its
    balance-log deltas == sum of its credited payments, and each credited payment has exactly
    one log row (one per payment is also a unique constraint) matching its payer and amount.

    Memory stays bounded at any table size: everything is summed in PostgreSQL, the per-payment
    check runs range by range of payment ids, and the organizations are streamed through a
    server-side cursor. on_progress(done, total) is called after each step. Mismatched
    organizations (every one with include_ok) go to on_organization as they arrive; without it
    they are collected in the report. Read-only and safe while credits run: one REPEATABLE READ
    transaction, so every step reads the same snapshot.
    """
    report = ReconciliationReport()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:  # inside a caller's transaction, that transaction's snapshot rules
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Hash aggregates over every organization without spilling to disk.
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("DROP TABLE IF EXISTS pg_temp.reconciliation_partial")
            cursor.execute(_PARTIAL_TABLE)
            cursor.execute("SELECT min(id), max(id) FROM payment")
            low, high = cursor.fetchone()
            ranges = (
                []
                if low is None
                else [
                    (start, min(start + RECONCILIATION_CHUNK, high + 1))
                    for start in range(low, high + 1, RECONCILIATION_CHUNK)
                ]
            )
            steps = [
                *[(_LOG_SUMS, None), (_CREDITED_SUMS, None)],
                *[(_PAYMENT_PROBLEMS, {"low": start, "high": end}) for start, end in ranges],
            ]
            for done, (statement, params) in enumerate(steps, 1):
                cursor.execute(statement, params)
                if statement is _PAYMENT_PROBLEMS:
                    report.payment_problems += [f"{op}: {why}" for op, why in cursor.fetchall()]
                if on_progress is not None:
                    on_progress(done, len(steps))
            cursor.execute("SELECT count(*) FROM organization")
            report.organizations_checked = cursor.fetchone()[0]
        with connection.chunked_cursor() as stream:
            stream.execute(_ORGANIZATION_TOTALS, {"include_ok": include_ok})
            while rows := stream.fetchmany(_FETCH_ROWS):
                for row in rows:
                    organization = OrganizationReconciliation(*row)
                    report.organizations_mismatched += not organization.ok
                    if on_organization is not None:
                        on_organization(organization)
                    else:
                        report.organizations.append(organization)
    return report
