"""Operators' view of bank statements: upload one, list them, read each line's fate.

View-only like the ledger's admins (payments.admin): a statement changes the ledger only through
its import (the upload form calls the same statements.imports.statement_file_import as the API
and the command). Each line links to its payment and its payer's organization; conflicts and
credits that no statement confirms are one filter or one link away.
"""

from statements.admin import line, statement  # noqa: F401 (registers them)
