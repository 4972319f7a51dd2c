"""Search by the start of an identifier, always through an index (migrations 0004 and 0006)."""

import re
import uuid

from django.db.models import QuerySet

IDENTIFIER_SEARCH_HELP = (
    "The start of an operation id, a payer INN or a document number (at least 3 characters)."
)


MIN_SEARCH_LENGTH = 3


def operation_id_range(term: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The operation ids that start with the search term, as an inclusive range, or None if the
    term cannot start one. Hyphens are optional in what the operator types.

    PostgreSQL orders uuids by their bytes, which is the order of their hex text, so the ids
    with a given start are one range of operation_id's own unique index: no second index, which
    every new payment would have to write (docs/scaling.md)."""
    hex_digits = term.lower().replace("-", "")
    if not re.fullmatch(r"[0-9a-f]{1,32}", hex_digits):
        return None
    padding = 32 - len(hex_digits)
    return uuid.UUID(hex_digits + "0" * padding), uuid.UUID(hex_digits + "f" * padding)


def prefix_search(queryset: QuerySet, term: str, **fields: str) -> QuerySet:
    """Rows where any of the given fields starts with the term.

    Each lookup is a `LIKE 'term%'` on a column that has a text_pattern_ops/varchar_pattern_ops
    index, or a range of operation_id's unique index, so PostgreSQL answers from the indexes (a
    BitmapOr) however large the table. Django's own search would compare UPPER(column) LIKE
    '%term%', which no btree index serves. Terms shorter than MIN_SEARCH_LENGTH find nothing:
    one character would match a large part of the table.
    """
    term = term.strip()
    if not term:
        return queryset
    if len(term) < MIN_SEARCH_LENGTH:
        return queryset.none()
    matches = queryset.none()
    if "operation_id" in fields and (ids := operation_id_range(term)):
        matches |= queryset.filter(**{f"{fields['operation_id']}__range": ids})
    if "inn" in fields and term.isascii() and term.isdigit() and len(term) <= 12:
        matches |= queryset.filter(**{f"{fields['inn']}__startswith": term})
    if "document_number" in fields:
        matches |= queryset.filter(**{f"{fields['document_number']}__startswith": term})
    return matches
