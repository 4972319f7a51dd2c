"""The service behind a real PgBouncer in transaction mode, as a deployment with several instances
runs it (docs/scaling.md gives this configuration).

In transaction mode each transaction of a client may run on a different server connection, so
nothing may live in a session: no prepared statements (psycopg prepares a statement after its
fifth run), no `options` startup parameter (PgBouncer 1.18 refuses it), no session SET.
DB_TRANSACTION_POOLER=1 turns the first two off and sets the timeouts per transaction.

Skipped when the pgbouncer binary is absent (a laptop); .ci/run installs it, so CI runs these.
"""

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from django.db import connection

from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig
from payments.webhook_signing import webhook_sign_headers
from testsupport.api import WEBHOOK
from testsupport.database import test_database_url
from testsupport.deliveries import payload
from testsupport.launch import free_port, process_stop
from testsupport.servers import PRODUCTION_ENV, uvicorn_server

PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(path)), None
)
pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed"),
    pytest.mark.django_db(transaction=True),
]

# Fewer server connections than the two workers' pools hold client connections, so that
# consecutive transactions of one client really do run on different server connections.
SERVER_POOL_SIZE = 4


def pgbouncer_config(*, port: int, workdir: Path) -> str:
    """A transaction-mode PgBouncer in front of the test database: docs/scaling.md's settings."""
    db = connection.settings_dict
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or "5432",
        "dbname": db["NAME"],
        "user": db["USER"],
    }
    if db["PASSWORD"]:
        server["password"] = db["PASSWORD"]
    target = " ".join(f"{key}={value}" for key, value in server.items())
    (workdir / "userlist.txt").write_text(f'"{db["USER"]}" ""\n')
    return f"""\
[databases]
{db["NAME"]} = {target}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / "userlist.txt"}
pool_mode = transaction
default_pool_size = {SERVER_POOL_SIZE}
max_client_conn = 200
logfile = {workdir / "pgbouncer.log"}
pidfile = {workdir / "pgbouncer.pid"}
"""


def _run_as() -> list[str]:
    """PgBouncer refuses to run as root: then run it as the owner of the database's socket
    directory (the embedded PostgreSQL's user), who can also reach that socket."""
    if os.geteuid() != 0:
        return []
    host = connection.settings_dict["HOST"]
    owner = Path(host).stat().st_uid if host.startswith("/") else pwd.getpwnam("nobody").pw_uid
    return ["-u", pwd.getpwuid(owner).pw_name]


@pytest.fixture(scope="module")
def pgbouncer_url(django_db_setup, django_db_blocker) -> Iterator[str]:
    # Not pytest's tmp_path: its parent is private to this user, and PgBouncer may run as another.
    with tempfile.TemporaryDirectory(prefix="pgbouncer-") as tmp:
        yield from _pgbouncer_run(Path(tmp), django_db_blocker)


def _pgbouncer_run(workdir: Path, django_db_blocker) -> Iterator[str]:
    port = free_port()
    with django_db_blocker.unblock():
        (workdir / "pgbouncer.ini").write_text(pgbouncer_config(port=port, workdir=workdir))
        run_as = _run_as()
        name, user = connection.settings_dict["NAME"], connection.settings_dict["USER"]
    if run_as:
        shutil.chown(workdir, user=run_as[1])
    process = subprocess.Popen(
        [PGBOUNCER, *run_as, str(workdir / "pgbouncer.ini")], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = workdir / "pgbouncer.log"
                    pytest.fail(
                        f"pgbouncer did not start: {log.read_text() if log.exists() else ''}"
                    )
                time.sleep(0.1)
        yield f"postgresql://{user}@127.0.0.1:{port}/{name}"
    finally:
        process_stop(process)


def test_duplicate_storm_through_pgbouncer_is_exact(pgbouncer_url):
    env = {**PRODUCTION_ENV, "DATABASE_URL": pgbouncer_url, "DB_TRANSACTION_POOLER": "1"}
    with uvicorn_server(workers=2, **env) as url:
        report = asyncio.run(
            storm_run(
                StormConfig(
                    url=url,
                    ops=400,
                    dup=3,
                    concurrency=48,
                    org_count=5,
                    secret=PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"],
                    token=PRODUCTION_ENV["API_TOKENS"],
                )
            )
        )

    assert report.problems == []
    assert report.server_errors == 0
    assert report.statuses == {200: 400 * 3 + report.late_repeats}
    assert report.outcomes["credited"] == 400


def test_lock_timeout_holds_through_pgbouncer(pgbouncer_url):
    """Without the `options` startup parameter the timeouts are set per transaction (SET LOCAL):
    a delivery that waits on a locked organization is answered 503 after DB_LOCK_TIMEOUT_MS."""
    env = {
        **PRODUCTION_ENV,
        "DATABASE_URL": pgbouncer_url,
        "DB_TRANSACTION_POOLER": "1",
        "DB_LOCK_TIMEOUT_MS": "300",
    }
    secret = PRODUCTION_ENV["BANK_WEBHOOK_SECRETS"]
    first = payload()
    with uvicorn_server(workers=1, **env) as url, httpx.Client(base_url=url, timeout=20) as client:

        def deliver(body: dict) -> httpx.Response:
            content = httpx.Request("POST", "/", json=body).content
            headers = webhook_sign_headers(
                secret=secret,
                body=content,
                msg_id=f"msg_{body['operation_id']}",
                timestamp=int(time.time()),
            )
            headers["content-type"] = "application/json"
            return client.post(WEBHOOK, content=content, headers=headers)

        assert deliver(first).status_code == 200
        # Another session holds the organization's row, directly on PostgreSQL.
        with psycopg.connect(test_database_url()) as blocker:
            blocker.execute(
                "SELECT 1 FROM organization WHERE inn = %s FOR UPDATE", [first["payer_inn"]]
            )
            response = deliver(payload(payer_inn=first["payer_inn"]))
            blocker.rollback()

    assert response.status_code == 503
    assert "Retry-After" in response.headers
