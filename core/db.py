"""PostgreSQL for the webhook's hot path: psycopg's async connection pool, one per server process.

Django's ORM and transactions are synchronous, so from an async view each use costs a hop to a
worker thread and back; on the webhook that hop was the largest single cost of a request (see
README "Performance"). The crediting transaction therefore runs on psycopg's AsyncConnectionPool,
on the same database with the same connection settings as Django's connection.

The server opens the pool at ASGI startup and closes it at shutdown (db_lifespan, installed by
core.stack). Where no pool is open (Django's test client, management commands), callers use
Django's connection instead: see payments.services.payment_receive.
"""

from typing import Any

from django.conf import settings
from django.db import connections
from psycopg_pool import AsyncConnectionPool

from core.body_limit import ASGIApp, Receive, Scope, Send

_pool: AsyncConnectionPool | None = None


def db_connection_kwargs() -> dict[str, Any]:
    """psycopg connection arguments equal to Django's default connection (read at call time, so
    a test database that pytest-django switched to is honoured).

    Not Django's get_connection_params(): it adds Django's sync cursor class, which an async
    connection cannot use, and turns prepared statements off. Here psycopg prepares a statement
    after its fifth run, unless OPTIONS' prepare_threshold is None (DB_TRANSACTION_POOLER).
    """
    db = connections["default"].settings_dict
    options = {key: value for key, value in db["OPTIONS"].items() if key != "pool"}
    params = {
        "dbname": db["NAME"],
        "user": db["USER"],
        "password": db["PASSWORD"],
        "host": db["HOST"],
        "port": db["PORT"],
        **options,
    }
    return {
        key: value
        for key, value in params.items()
        if value not in ("", None) or key == "prepare_threshold"
    }


# SET LOCAL, as one statement: it ends with the transaction, so behind a transaction pooler it
# never leaks to another client's transaction on the same server connection.
_TIMEOUTS_LOCAL = (
    "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)"
)


def db_timeouts_local() -> tuple[str, list[str]] | None:
    """The statement that bounds the current transaction's statement and lock waits, or None
    when the connection's session already has them (the `options` startup parameter, which a
    transaction pooler refuses; settings.DB_TRANSACTION_POOLER)."""
    if not settings.DB_TRANSACTION_POOLER:
        return None
    timeouts = [str(settings.DB_STATEMENT_TIMEOUT_MS), str(settings.DB_LOCK_TIMEOUT_MS)]
    return _TIMEOUTS_LOCAL, timeouts


def db_pool_get() -> AsyncConnectionPool | None:
    """This process's open async pool, or None outside a server."""
    return _pool


async def db_pool_open() -> AsyncConnectionPool:
    """Open the process's pool (sizes and wait as Django's pool: DB_POOL_* settings).

    It does not wait for the database: a server started while PostgreSQL is down comes up, answers
    503 until the pool connects, then recovers by itself.
    """
    global _pool
    if _pool is None:
        pool_settings = connections["default"].settings_dict["OPTIONS"]["pool"]
        _pool = AsyncConnectionPool(
            kwargs=db_connection_kwargs(),
            min_size=pool_settings["min_size"],
            max_size=pool_settings["max_size"],
            timeout=pool_settings["timeout"],
            name="webhook",
            open=False,
        )
        await _pool.open(wait=False)
    return _pool


async def db_pool_close() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        await pool.close()


def db_lifespan(app: ASGIApp) -> ASGIApp:
    """Answer the ASGI lifespan protocol around app: open the pool at startup, close it at
    shutdown. Other scopes go to app (Django itself refuses lifespan scopes)."""

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await db_pool_open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await db_pool_close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return application
