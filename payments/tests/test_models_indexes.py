"""Every index on the ledger's tables is written by every credit, so each must earn its place
(docs/scaling.md)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

LEDGER_TABLES = ("organization", "payment", "balance_log")


def _indexes() -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, c.relname, i.indisunique OR i.indisprimary,
                   i.indpred IS NOT NULL OR i.indexprs IS NOT NULL,
                   i.indkey::int2[], i.indclass::oid[], i.indoption::int2[]
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relname = ANY(%s)
            """,
            [list(LEDGER_TABLES)],
        )
        names = ("table", "name", "unique", "partial", "columns", "classes", "options")
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _serves(wider: dict, narrow: dict) -> bool:
    """Whether `wider` answers every lookup `narrow` does: same table, and narrow's columns,
    operator classes and orderings are the start of wider's."""
    size = len(narrow["columns"])
    return (
        wider["table"] == narrow["table"]
        and not wider["partial"]
        and all(wider[key][:size] == narrow[key] for key in ("columns", "classes", "options"))
    )


def test_no_ledger_index_is_covered_by_another():
    """A plain index whose columns start another index is redundant: the wider one serves its
    lookups, the foreign key's PROTECT check included."""
    indexes = _indexes()
    redundant = [
        f"{narrow['name']} (covered by {wider['name']})"
        for narrow in indexes
        if not narrow["unique"] and not narrow["partial"]
        for wider in indexes
        if wider is not narrow and _serves(wider, narrow)
    ]
    assert redundant == []


def test_operation_id_has_one_index():
    """The webhook looks operations up by operation_id's unique index, and the admin's search
    reads a range of it: random uuids make every index on them a random page write per new
    payment."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'payment'"
            " AND indexdef LIKE '%%operation_id%%'"
        )
        assert [name for (name,) in cursor.fetchall()] == ["payment_operation_id_key"]
