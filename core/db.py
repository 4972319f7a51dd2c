"""psycopg's async connection pool for the webhook's crediting transaction, one per server process.

Django's ORM is sync, so each use from an async view costs a thread hop; this pool runs the
transaction on the event loop instead, on the same database and settings as Django's connection.
db_lifespan opens it at server startup; without one (test client, commands) callers fall back to
Django's connection (payments.services.payment_receive). History: docs/performance.md.
"""

from typing import Any

from django.db import connections
from psycopg_pool import AsyncConnectionPool

from core.body_limit import ASGIApp, Receive, Scope, Send

_pool: AsyncConnectionPool | None = None


def db_connection_kwargs() -> dict[str, Any]:
    """psycopg connection arguments equal to Django's default connection (read at call time, so
    a test database that pytest-django switched to is honoured).

    Not Django's get_connection_params(): it adds Django's sync cursor class, which an async
    connection cannot use, and turns prepared statements off.
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
    return {key: value for key, value in params.items() if value not in ("", None)}


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
