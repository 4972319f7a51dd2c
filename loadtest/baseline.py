"""`make bench --baseline DIR`: the ordinary Django baseline stormed in turns with this service.

The baseline (DIR/run.sh: gunicorn sync workers, its own venv) runs on a database of its own on
the same PostgreSQL; the same spread storm runs on each, --rounds times (A B A B), and each one's
server CPU per delivery is printed with the ratio of the two (docs/performance.md).
"""

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from core.serve import uvicorn_args
from loadtest.bench_service import (
    DUP,
    BenchService,
    Row,
    bench_log,
    cpu_ms_shown,
    ms_shown,
    storm_measured,
    storm_row,
)
from loadtest.storm import storm_run
from loadtest.storm_plan import StormConfig, StormReport
from testsupport.launch import ROOT, free_port, process_stop, server_start

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


class BaselineService:
    """The ordinary Django service of DIR (its run.sh: its own venv, gunicorn sync workers), on a
    fresh database of its own on the same PostgreSQL, with organizations seeded. Its settings
    are loaded unchanged; a settings module beside them only points Django at that database
    (its DATABASE_URL parser knows no Unix sockets, which the embedded PostgreSQL uses)."""

    def __init__(self, directory: str, database_url: str, *, workers: int) -> None:
        self.directory = Path(directory).resolve()
        self.database_url, self.workers = database_url, workers
        self.venv = Path(os.environ.get("BASELINE_VENV", "/tmp/baseline-venv"))  # noqa: S108

    def __enter__(self) -> "BaselineService":
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
        bench_log(f"baseline: {self.directory} on port {self.port}, {self.workers} workers")
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


class FloorService:
    """loadtest.floor_app on uvicorn, started as the service is (core.serve's command line, the
    same workers), with no lifespan (it has no pool to open)."""

    def __init__(self, *, workers: int) -> None:
        self.workers = workers

    def __enter__(self) -> "FloorService":
        self.port = free_port()
        args = uvicorn_args(port=self.port, workers=self.workers)
        args[args.index("core.asgi:application")] = "loadtest.floor_app:application"
        args[args.index("--lifespan") + 1] = "off"
        bench_log(f"floor: Django's ASGI handler alone on port {self.port}")
        self.process = server_start(
            port=self.port,
            workers=self.workers,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            ready_path="/api/organizations/0000000000/balance/",
            args=args,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        process_stop(self.process)


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


def side_by_side_run(args, env: dict[str, str], database_url: str, database_pid: int | None):
    """The same spread storm on this service and on the baseline, in turns, --rounds times."""
    from loadtest.storm_plan import organizations_generate

    owner_url = os.environ.get("DATABASE_OWNER_URL") or database_url
    rows: list[Row] = []
    service = BenchService(env, workers=args.workers)
    baseline = BaselineService(args.baseline, owner_url, workers=args.baseline_workers)
    floor = FloorService(workers=args.workers) if args.floor else contextlib.nullcontext()
    with service as url, baseline as base, floor:
        storm = {"url": url, "secret": env["BANK_WEBHOOK_SECRETS"], "token": env["API_TOKENS"]}
        inns = list(organizations_generate(5))
        base.seed(inns)
        bench_log("side by side: warm-up")
        asyncio.run(storm_run(StormConfig(**storm, ops=300, concurrency=args.concurrency)))
        warm_up = StormConfig(url=base.url, orgs=tuple(inns), ops=300, concurrency=args.concurrency)
        asyncio.run(storm_run(warm_up))
        for round_ in range(1, args.rounds + 1):
            common = {"ops": args.ops, "dup": DUP, "concurrency": args.concurrency}
            bench_log(f"side by side, round {round_}: this service")
            report, cpu = storm_measured(
                StormConfig(**storm, **common), service.process.pid, database_pid
            )
            name = f"service, round {round_}"
            rows.append(storm_row(name, args.concurrency, report, cpu=cpu, drain=False))
            bench_log(f"side by side, round {round_}: baseline")
            report, cpu = storm_measured(
                StormConfig(url=base.url, secret=storm["secret"], orgs=tuple(inns), **common),
                base.process.pid,
                database_pid,
            )
            rows.append(
                storm_row(
                    f"baseline, round {round_}",
                    args.concurrency,
                    report,
                    cpu=cpu,
                    drain=False,
                    problems=baseline_problems(report),
                )
            )
            for problem in baseline_problems(report)[:5]:
                bench_log(f"baseline: {problem}")
            if args.floor:
                bench_log(f"side by side, round {round_}: floor")
                report, cpu = storm_measured(
                    StormConfig(url=floor.url, secret=storm["secret"], orgs=tuple(inns), **common),
                    floor.process.pid,
                    None,
                )
                row = storm_row(f"floor, round {round_}", args.concurrency, report, cpu=cpu)
                row.verdict = "(credits nothing)"
                rows.append(row)
    return rows


def cpu_ratio(rows: list[Row], of: str = "service") -> float | None:
    """The server CPU per delivery of `of` (service, or floor) over the baseline's, each
    averaged over its rounds."""

    def mean(prefix: str) -> float | None:
        values = [row.server_cpu_ms for row in rows if row.case.startswith(prefix)]
        if not values or None in values:
            return None
        return sum(values) / len(values)

    numerator, baseline = mean(of), mean("baseline")
    return numerator / baseline if numerator is not None and baseline else None


def side_by_side_json(rows: list[Row]) -> str:
    """The side-by-side rows and ratios (the floor's when it ran) as one JSON object."""
    ratios = {"cpu_ratio": cpu_ratio(rows)}
    if any(row.case.startswith("floor") for row in rows):
        ratios["floor_ratio"] = cpu_ratio(rows, of="floor")
    return json.dumps({"side_by_side": [{**row.__dict__} for row in rows], **ratios})


def side_by_side_correct(rows: list[Row]) -> bool:
    """Every judged storm CORRECT (the floor credits nothing and is not judged)."""
    return all(row.verdict == "CORRECT" for row in rows if not row.case.startswith("floor"))


def side_by_side_print(rows: list[Row]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="side by side: this service and the ordinary Django baseline, in turns")
    for column in ("case", "req/s", "p50 ms", "p99 ms", "verdict", "server CPU ms", "PG CPU ms"):
        table.add_column(column, justify="left" if column in ("case", "verdict") else "right")
    for row in rows:
        table.add_row(
            row.case,
            f"{row.rps:.0f}",
            ms_shown(row.p50_ms),
            ms_shown(row.p99_ms),
            row.verdict,
            cpu_ms_shown(row.server_cpu_ms),
            cpu_ms_shown(row.db_cpu_ms),
        )
    Console(width=max(Console().width, 110)).print(table)
    ratio = cpu_ratio(rows)
    print(
        "server CPU per delivery, service / baseline: "
        + ("unknown (no /proc)" if ratio is None else f"{ratio:.2f} (target: at most 0.33)")
    )
    floor = cpu_ratio(rows, of="floor")
    if floor is not None:
        print(f"server CPU per delivery, floor / baseline: {floor:.2f} (Django's handler alone)")
