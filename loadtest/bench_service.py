"""The benchmarks' shared parts: the service started as production runs it, one storm measured
(rate, latency, verdict, CPU per delivery) as a Row, and the benchmarks' log and formats.
"""

import asyncio
import base64
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from loadtest.cpu import CpuSample, per_delivery_ms, tree_cpu_seconds
from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig, StormReport
from testsupport.launch import ROOT, free_port, process_stop, server_start

DUP = 3  # deliveries per operation: 1 new : 2 duplicates, as the reference points


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


def log_level_argument(parser) -> None:
    """--log-level, for the benchmarks that start the service (production_env's log_level)."""
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["INFO", "WARNING"],
        help="the service's LOG_LEVEL (INFO, production's default, writes a line per delivery)",
    )


def production_env(database_url: str, *, log_level: str = "INFO") -> dict[str, str]:
    """What a deployment sets, with secrets made up for this run only. LOG_LEVEL is
    production's default, INFO: each delivery writes its summary line (BenchService keeps the
    server's output in a file); WARNING leaves that cost out."""
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
        "LOG_LEVEL": log_level,
    }


class BenchService:
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
        # The server's log lines (one per delivery at INFO) go where a deployment's go: a pipe
        # or a file, here a file of the run's, not the benchmark's terminal.
        self.output = open(f"{self.metrics_dir}/server.log", "wb")
        try:
            self.process = server_start(
                port=port,
                workers=self.workers,
                env={**self.env, "PROMETHEUS_MULTIPROC_DIR": self.metrics_dir},
                ready_path="/readyz",
                timeout=60,
                output=self.output,
            )
        except RuntimeError as exc:
            self.process = None
            self.__exit__()
            sys.exit(str(exc))
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        for process in filter(None, (self.process, self.worker)):
            process_stop(process)
        self.output.close()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def storm_row(
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


def postmaster_pid(database_url: str) -> int | None:
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


def storm_measured(
    config: StormConfig, server_pid: int, database_pid: int | None
) -> tuple[StormReport, CpuSample]:
    """Run one storm; return its report and the CPU milliseconds per delivery it cost the
    server's process tree and PostgreSQL's (the few balance reads around it included)."""
    before = _cpu_sample(server_pid, database_pid)
    report = asyncio.run(storm_run(config))
    after = _cpu_sample(server_pid, database_pid)
    return report, per_delivery_ms(before, after, report.requests)


def cpu_ms_shown(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def ms_shown(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def command_run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603


def bench_log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
