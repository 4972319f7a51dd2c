"""Run a transaction's SQL steps on either driver: Django's cursor or psycopg's async one.

A transaction is written once as a generator of steps: it yields (sql, params), is sent back
the step's row (the first row of its last statement, or None), and returns its result.
steps_run executes it on Django's cursor (sync code, a worker thread), steps_transaction_async
on a connection of psycopg's async pool (the server's hot path): the same SQL in the same order
either way, so it lives in one place.

A step may hold several statements (steps_joined): both drivers bind parameters on the client
and send a step as one simple query, so its statements cost one round trip, and each still
takes its own snapshot (an INSERT after an advisory lock sees what the lock's holder committed).
"""

import contextlib
from collections.abc import Generator, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncClientCursor
from psycopg.pq import TransactionStatus

from core.db import db_timeouts_local

Step = tuple[str, Mapping[str, Any] | Sequence[Any]]
Row = tuple | None
T = TypeVar("T")
Steps = Generator[Step, Row, T]

_IN_TRANSACTION = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


def steps_run(steps: Steps[T], cursor) -> T:
    try:
        step = next(steps)
        while True:
            cursor.execute(*step)
            while cursor.nextset():  # a joined step answers with its last statement's row
                pass
            step = steps.send(cursor.fetchone())
    except StopIteration as done:
        return done.value


async def steps_transaction_async(steps: Steps[T], conn: psycopg.AsyncConnection) -> T:
    """Run steps as one transaction on conn, an autocommit connection (the async pool's, core.db):
    BEGIN travels with the first step and COMMIT follows the last, so a transaction of one step
    costs two round trips. Rolled back if anything raises, a cancellation included."""
    cursor = AsyncClientCursor(conn)
    try:
        step = next(steps)
        await cursor.execute("BEGIN;" + step[0], step[1])
        while True:
            while cursor.nextset():
                pass
            step = steps.send(await cursor.fetchone())
            await cursor.execute(*step)
    except StopIteration as done:
        await conn.commit()
        return done.value
    except BaseException:
        if conn.info.transaction_status in _IN_TRANSACTION:
            # A connection that cannot roll back is broken: the pool discards it.
            with contextlib.suppress(psycopg.Error):
                await conn.rollback()
        raise


def steps_joined(*steps: Step) -> Step:
    """Several steps with named parameters as one (one round trip); its row is the last's."""
    return ";".join(sql for sql, _ in steps), {
        name: value for _, params in steps for name, value in params.items()
    }


def timeouts_step() -> Step | None:
    """Bound this transaction's waits when the session does not (behind a transaction pooler)."""
    return db_timeouts_local()


def timeouts_steps() -> Steps[None]:
    step = timeouts_step()
    if step is not None:
        yield step
