"""Run a transaction's SQL steps on either driver: Django's cursor or psycopg's async one.

A transaction is written once as a generator of steps: it yields (sql, params), is sent back
the step's first row (or None), and returns its result. steps_run executes it on Django's
cursor (sync code, a worker thread), steps_transaction_async on a connection of psycopg's
async pool (the server's hot path): the same SQL in the same order either way, so it lives in
one place.

A Joined step holds several statements and is sent back a tuple of each one's first row. Both
drivers bind parameters on the client and send it as one simple query: one round trip, and
each statement still takes its own snapshot (an INSERT after an advisory lock sees what the
lock's previous holder committed).
"""

from collections.abc import Generator, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import psycopg
from psycopg import AsyncClientCursor

from core.db import db_timeouts_local
from core.prepared import sql_for, sql_prepare

Step = tuple[str, Mapping[str, Any] | Sequence[Any]]
T = TypeVar("T")
Steps = Generator[Step, Any, T]


class Joined(NamedTuple):
    """Several statements sent as one step (steps_joined), their parameters named apart."""

    statements: tuple[str, ...]
    params: Mapping[str, Any]


def steps_run(steps: Steps[T], cursor) -> T:
    try:
        step = next(steps)
        while True:
            if isinstance(step, Joined):
                cursor.execute(";".join(step.statements), step.params)
                rows = [cursor.fetchone()]
                while cursor.nextset():
                    rows.append(cursor.fetchone())
                step = steps.send(tuple(rows))
            else:
                cursor.execute(*step)
                step = steps.send(cursor.fetchone())
    except StopIteration as done:
        return done.value


async def steps_transaction_async(steps: Steps[T], conn: psycopg.AsyncConnection) -> T:
    """Run a transaction of one step (payment_process_steps: one Joined step) on conn, an
    autocommit connection (the async pool's, core.db): one simple query, which PostgreSQL runs
    as one transaction, committed when its last statement succeeds and rolled back if any
    fails. One round trip (and, the first time on conn, one more that prepares its declared
    statements: core.prepared). Steps that ask for a second step are a programming error: they
    raise RuntimeError, after the first has committed."""
    await sql_prepare(conn)
    cursor = AsyncClientCursor(conn)
    step = next(steps)
    if not isinstance(step, Joined):
        raise TypeError("a transaction on the async pool is one Joined step (steps_joined)")
    await cursor.execute(
        ";".join(sql_for(sql, conn) for sql in step.statements), _params_as_text(step.params)
    )
    rows = [await cursor.fetchone()]
    while cursor.nextset():
        rows.append(await cursor.fetchone())
    try:
        steps.send(tuple(rows))
    except StopIteration as done:
        return done.value
    raise RuntimeError("a transaction on the async pool is one step")


def _params_as_text(params: Mapping[str, Any]) -> dict[str, Any]:
    """params with UUIDs, dates and datetimes as their ISO text, which the statements cast back
    (every such parameter of theirs carries its ::type). A new cursor's adapter cache is empty,
    and finding a dumper for each of those types cost more than the binding itself."""
    return {name: _as_text(value) for name, value in params.items()}


def _as_text(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def steps_joined(*steps: Step) -> Joined:
    """Several steps with named parameters as one (one round trip). Their parameters share one
    namespace: a name two steps give different values is a ValueError, never a silent choice."""
    joined: dict[str, Any] = {}
    for _, params in steps:
        for name in params.keys() & joined.keys():
            if params[name] is not joined[name]:
                raise ValueError(f"two steps joined give {name!r} different values")
        joined.update(params)
    return Joined(tuple(sql for sql, _ in steps), joined)


def timeouts_steps() -> Steps[None]:
    """Bound this transaction's waits when the session does not (behind a transaction pooler)."""
    step = db_timeouts_local()
    if step is not None:
        yield step
