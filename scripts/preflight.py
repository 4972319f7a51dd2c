"""Checks made before anything starts, each failing with one line that says what to do.

    python scripts/preflight.py port    # HOST and PORT free for uvicorn? (scripts/serve.sh)

The database check (database_problem) is the launcher's, scripts/embedded_db.py: it runs before
any command that is given a DATABASE_URL, so that a wrong URL is one line, at once, instead of
a Django traceback after the pool's wait.
"""

import json
import os
import socket
import sys
import urllib.request


def database_problem(url: str, *, variable: str, timeout: int = 5) -> str | None:
    """None if url connects; else one line naming host, port, database and what to check."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as error:
        return (
            f"{variable} is not a PostgreSQL URL ({_first_line(error)}): expected "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    user = params.get("user") or "(your login name)"
    dbname = params.get("dbname") or user
    try:
        psycopg.connect(url, connect_timeout=timeout).close()
    except psycopg.Error as error:
        reason = _first_line(error).rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
        check = _what_to_check(reason, host=host, port=port, user=user, dbname=dbname)
        return (
            f'cannot connect to database "{dbname}" at {host}:{port} as "{user}" ({variable}): '
            f"{reason}. {check.format(variable=variable)}"
        )
    return None


def _what_to_check(reason: str, *, host: str, port: str, user: str, dbname: str) -> str:
    text = reason.lower()
    if "connection refused" in text or "no such file or directory" in text:
        return f"Is PostgreSQL running on {host} and listening on port {port}? Check {{variable}}."
    if "timeout" in text or "timed out" in text:
        return f"Is {host} reachable from here (firewall, VPN)? Check the host in {{variable}}."
    if "translate host name" in text or "name or service not known" in text:
        return f"Check the host name in {{variable}}: {host} is not known here."
    if "database" in text and "does not exist" in text:
        return (
            f"Create it (createdb -h {host} -p {port} -U {user} {dbname}) "
            "or fix the database name in {variable}."
        )
    if "password" in text or "authentication" in text:
        return "Check the user name and password in {variable}."
    if "role" in text and "does not exist" in text:
        return "Check the user name in {variable} (docs/security.md, Database roles)."
    return "Check {variable}."


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def port_problem(host: str, port: int) -> str | None:
    """None if uvicorn can listen on host:port; else one line naming PORT=."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        return f"HOST={host} is not an address to listen on ({error.strerror}): try HOST=127.0.0.1"
    with socket.socket(family, kind, proto) as sock:
        # As uvicorn binds: a port left in TIME_WAIT by a server that just stopped is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            who = " by this service (another make run?)" if _is_this_service(host, port) else ""
            return (
                f"port {port} on {host} is already in use{who} ({error.strerror}): stop what "
                f"listens there, or choose another port: PORT={_free_port(family, address, port)} "
                "make run"
            )
    return None


def _is_this_service(host: str, port: int) -> bool:
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/healthz"  # noqa: S104
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return json.loads(response.read()) == {"status": "ok"}
    except (OSError, ValueError):
        return False


def _free_port(family: int, address: tuple, busy: int) -> int:
    for candidate in range(busy + 1, busy + 100):
        with socket.socket(family) as sock:
            try:
                sock.bind((address[0], candidate, *address[2:]))
            except OSError:
                continue
            return candidate
    return busy + 1


def main(argv: list[str]) -> int:
    if argv == ["port"]:
        host = os.environ.get("HOST", "127.0.0.1")
        problem = port_problem(host, int(os.environ.get("PORT", "8000")))
        if problem:
            print(problem, file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
