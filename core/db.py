"""psycopg's async connection pool for the webhook's crediting transaction, one per server process.

Django's ORM is sync, so each use from an async view costs a thread hop; this pool runs the
transaction on the event loop instead, on the same database and settings as Django's connection.
db_lifespan opens it at server startup; without one (no lifespan: runserver, Daphne, the test
client) callers fall back to Django's connection (payments.services.crediting.payment_receive).
"""

import select
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from core.http.layer import ASGIApp, Receive, Scope, Send
from core.private_apis import pool_check_set

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
    "SELECT set_config('statement_timeout', %(statement_timeout)s, true), "
    "set_config('lock_timeout', %(lock_timeout)s, true)"
)


def db_timeouts_local() -> tuple[str, dict[str, str]] | None:
    """The statement that bounds the current transaction's statement and lock waits, or None
    when the connection's session already has them (the `options` startup parameter, which a
    transaction pooler refuses; settings.DB_TRANSACTION_POOLER)."""
    if not settings.DB_TRANSACTION_POOLER:
        return None
    return _TIMEOUTS_LOCAL, {
        "statement_timeout": str(settings.DB_STATEMENT_TIMEOUT_MS),
        "lock_timeout": str(settings.DB_LOCK_TIMEOUT_MS),
    }


def _server_spoke(conn: psycopg.Connection | psycopg.AsyncConnection) -> bool:
    """True if the server sent something (or hung up) while this pooled connection sat idle."""
    if conn.closed:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))  # POLLHUP and POLLERR count whether asked for or not


# The pools' check before they hand out a connection: raise (the pool then replaces it) if the
# server has ended it, as it has every idle connection after a PostgreSQL restart.
#
# psycopg_pool's stock check costs a round trip per checkout, which the webhook would pay on every
# request. A server that ends a connection (restart, crash, pg_terminate_backend) says goodbye or
# closes the socket, so an idle connection's socket turns readable: one poll() tells, and only
# then is the round trip made, to tell a goodbye from a harmless notice. On a dead connection
# the whole pool is checked at once: the pool waits a growing backoff (1 s, 2 s, 4 s...) after
# each failed check, so meeting the stale connections one by one would outlast the request's
# pool timeout.


async def db_connection_check(conn: psycopg.AsyncConnection) -> None:
    """The webhook pool's check (see above)."""
    if not _server_spoke(conn):
        return
    try:
        await AsyncConnectionPool.check_connection(conn)
    except psycopg.Error:
        if _pool is not None:
            await _pool.check()
        raise


def db_connection_check_sync(conn: psycopg.Connection) -> None:
    """Django's pool's check (see above); installed by db_pool_open."""
    if not _server_spoke(conn):
        return
    try:
        ConnectionPool.check_connection(conn)
    except psycopg.Error:
        connections["default"].pool.check()
        raise


def db_owner_use(alias: str = "default") -> bool:
    """Make Django's connection log in as DATABASE_OWNER_URL's role from now on; False if unset.

    For `migrate`, `createsuperuser` and `changepassword` only (and the test session's set-up):
    the serving role may not create or alter tables, nor create or change users. The database
    name stays the connection's own (a test database included).
    """
    if not settings.DATABASE_OWNER_URL:
        return False
    owner = conninfo_to_dict(settings.DATABASE_OWNER_URL)
    connection = connections[alias]
    connection.close()
    if hasattr(connection, "close_pool"):  # a pool keeps the role it logged in as
        connection.close_pool()
    connection.settings_dict.update(
        USER=owner.get("user", ""),
        PASSWORD=owner.get("password", ""),
        HOST=owner.get("host", ""),
        PORT=owner.get("port", ""),
    )
    return True


def db_serving_role() -> str | None:
    """The role requests and jobs log in as (DATABASE_URL's user), None if the URL names none."""
    return conninfo_to_dict(settings.DATABASE_URL).get("user")


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
            # Autocommit: a transaction of several statements is one message, which PostgreSQL
            # runs as one transaction (payments.services.sql_steps.steps_transaction_async).
            # No automatic preparing: this pool's statements are bound on the client, which
            # psycopg never prepares, and core.prepared prepares the large ones itself; psycopg
            # would still count every distinct text in its cache.
            kwargs={**db_connection_kwargs(), "autocommit": True, "prepare_threshold": None},
            min_size=pool_settings["min_size"],
            max_size=pool_settings["max_size"],
            timeout=pool_settings["timeout"],
            check=db_connection_check,
            name="webhook",
            configure=_session_configure,
            open=False,
        )
        await _pool.open(wait=False)
        # Django 5.2 gives its pool psycopg_pool's stock check (CONN_HEALTH_CHECKS) and no way
        # to pass another, so the server sets ours on the pool Django built (guarded by
        # test_after_a_database_restart_the_first_requests_succeed).
        pool_check_set(connections["default"].pool, db_connection_check_sync)
    return _pool


async def _session_configure(conn: AsyncConnection) -> None:
    """Pin a new session to UTC, as Django pins its own connections.

    The database, a role or PGTZ may set a local zone; timestamps would then load as local
    times, which can be ambiguous (a DST autumn hour) or past year 9999.
    """
    if conn.info.parameter_status("TimeZone") != "UTC":
        await conn.execute("SET TIME ZONE 'UTC'")
        await conn.commit()


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
