"""Statements the async pool prepares on each of its connections, so a message of several
statements is parsed and planned once per connection, not once per message.

psycopg prepares a statement after its fifth run through the extended protocol, which carries
one statement per message. A message of several statements goes through the simple protocol,
where PostgreSQL parses and plans every statement every time: for the webhook's record-and-credit
statement, that cost the database more than the round trips it saved. A statement declared here
is PREPAREd (SQL's, per session) the first time a connection runs a transaction of them
(payments.services.sql_steps), in a message of its own, and from then on a message on that
connection says EXECUTE name(...) in its place. Not when the connection opens: the pool opens
connections in the background, and a PREPARE locks the tables it names while it is analysed,
so it could deadlock with whatever else holds them (a test's TRUNCATE between examples did).
Behind a transaction pooler, which does not keep a session's prepared statements, and on
Django's connection, the text is sent as it is.
"""

import re
import weakref

import psycopg
from django.conf import settings

_PARAMETER = re.compile(r"%\((\w+)\)s")

_statements: dict[str, "PreparedSQL"] = {}
_prepared_on: "weakref.WeakSet[psycopg.AsyncConnection]" = weakref.WeakSet()


class PreparedSQL(str):
    """SQL with named parameters (%(name)s), usable as it is by any cursor, that the async
    pool's connections prepare under `name`."""

    name: str
    prepare: str  # PREPARE name AS <the text, its parameters numbered>
    execute: str  # EXECUTE name(<its parameters, named, for the client-side binding>)


def sql_prepared(name: str, sql: str) -> PreparedSQL:
    """Declare sql as prepared on every async pool connection under name (at import time)."""
    names: list[str] = []

    def numbered(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    statement = PreparedSQL(sql)
    statement.name = name
    statement.prepare = f"PREPARE {name} AS {_PARAMETER.sub(numbered, sql)}"
    statement.execute = f"EXECUTE {name}({', '.join(f'%({n})s' for n in names)})"
    if _statements.setdefault(name, statement) != statement:
        raise ValueError(f"two prepared statements named {name}")
    return statement


async def sql_prepare(conn: psycopg.AsyncConnection) -> None:
    """Prepare every declared statement on conn, an autocommit connection, unless it has them;
    never behind a transaction pooler (settings.DB_TRANSACTION_POOLER)."""
    if conn in _prepared_on or settings.DB_TRANSACTION_POOLER or not _statements:
        return
    cursor = psycopg.AsyncClientCursor(conn)
    # An earlier attempt on conn may have been cut short (its request cancelled when the client
    # left) after PostgreSQL had prepared them: ask, rather than PREPARE one twice.
    await cursor.execute(
        "SELECT name FROM pg_prepared_statements WHERE name = ANY(%s)", [list(_statements)]
    )
    prepared = {name for (name,) in await cursor.fetchall()}
    missing = [sql.prepare for name, sql in _statements.items() if name not in prepared]
    if missing:
        await cursor.execute(";".join(missing))
    _prepared_on.add(conn)


def sql_for(sql: str, conn: psycopg.AsyncConnection) -> str:
    """The text to send for sql on conn: its EXECUTE when conn has it prepared."""
    if isinstance(sql, PreparedSQL) and conn in _prepared_on:
        return sql.execute
    return sql
