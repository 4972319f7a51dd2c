"""Run a transaction's SQL steps on either driver: Django's cursor or psycopg's async one.

A transaction is written once as a generator of steps: it yields (sql, params), is sent back
the step's first row (or None), and returns its result. steps_run executes it on Django's
cursor (sync code, a worker thread), steps_run_async on a psycopg async cursor (the server's
hot path): the same SQL in the same order either way, so it lives in one place.
"""

from collections.abc import Generator, Mapping, Sequence
from typing import Any, TypeVar

from core.db import db_timeouts_local

Step = tuple[str, Mapping[str, Any] | Sequence[Any]]
Row = tuple | None
T = TypeVar("T")
Steps = Generator[Step, Row, T]


def steps_run(steps: Steps[T], cursor) -> T:
    try:
        step = next(steps)
        while True:
            cursor.execute(*step)
            step = steps.send(cursor.fetchone())
    except StopIteration as done:
        return done.value


async def steps_run_async(steps: Steps[T], cursor) -> T:
    try:
        step = next(steps)
        while True:
            await cursor.execute(*step)
            step = steps.send(await cursor.fetchone())
    except StopIteration as done:
        return done.value


def timeouts_steps() -> Steps[None]:
    """Bound this transaction's waits when the session does not (behind a transaction pooler)."""
    step = db_timeouts_local()
    if step is not None:
        yield step
