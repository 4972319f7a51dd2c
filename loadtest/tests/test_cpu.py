"""The CPU-per-delivery arithmetic of `make bench`: /proc parsing, process trees, the ratio."""

import json
import os

import pytest

from loadtest.baseline import (
    baseline_database_url,
    baseline_problems,
    cpu_ratio,
    side_by_side_correct,
    side_by_side_json,
)
from loadtest.bench_service import Row
from loadtest.cpu import (
    CpuSample,
    ProcStat,
    parent_pid,
    per_delivery_ms,
    proc_stat_parse,
    tree_cpu_seconds,
    tree_ticks,
)

# A real /proc/PID/stat line, its command name holding a space and a parenthesis.
STAT = (
    "4242 (uvicorn: w) 1) S 4241 4242 4242 0 -1 4194560 5000 0 0 0 "
    "700 300 40 2 20 0 3 0 123456 1000000 2000 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1"
)


def test_a_stat_line_gives_its_pid_parent_and_all_four_times():
    assert proc_stat_parse(STAT) == ProcStat(pid=4242, ppid=4241, ticks=700 + 300 + 40 + 2)


def test_a_tree_counts_its_root_and_every_descendant_but_no_stranger():
    stats = [
        ProcStat(10, 1, 5),  # the master
        ProcStat(11, 10, 100),  # a worker
        ProcStat(12, 10, 200),
        ProcStat(13, 12, 7),  # a worker's child
        ProcStat(20, 1, 1000),  # another process
    ]
    assert tree_ticks(10, stats) == 5 + 100 + 200 + 7
    with pytest.raises(ProcessLookupError):
        tree_ticks(99, stats)


def test_this_process_tree_is_read_from_proc():
    assert tree_cpu_seconds(os.getpid()) > 0
    assert tree_cpu_seconds(2**22 + 1) is None  # above Linux's pid_max: no such process
    assert parent_pid(os.getpid()) == os.getppid()  # how a backend leads to PostgreSQL's server


def test_cpu_per_delivery_is_the_difference_over_the_deliveries():
    before, after = CpuSample(server=10.0, database=2.0), CpuSample(server=13.0, database=None)
    assert per_delivery_ms(before, after, 1500) == CpuSample(server=2.0, database=None)
    assert per_delivery_ms(before, after, 0) == CpuSample(server=None, database=None)


def _row(case: str, server_cpu_ms: float | None) -> Row:
    return Row(case, 32, 100.0, 1.0, 2.0, "CORRECT", server_cpu_ms=server_cpu_ms)


def test_the_ratio_is_the_services_mean_over_the_baselines():
    rows = [
        _row("service, round 1", 1.0),
        _row("baseline, round 1", 3.0),
        _row("service, round 2", 2.0),
        _row("baseline, round 2", 3.0),
    ]
    assert cpu_ratio(rows) == pytest.approx(0.5)
    assert cpu_ratio([_row("service, round 1", 1.0), _row("baseline, round 1", None)]) is None


def test_the_floor_has_its_own_ratio_and_does_not_enter_the_services():
    rows = [
        _row("service, round 1", 1.0),
        _row("baseline, round 1", 4.0),
        _row("floor, round 1", 0.8),
    ]
    assert cpu_ratio(rows) == pytest.approx(0.25)
    assert cpu_ratio(rows, of="floor") == pytest.approx(0.2)
    assert json.loads(side_by_side_json(rows))["floor_ratio"] == pytest.approx(0.2)
    assert "floor_ratio" not in json.loads(side_by_side_json(rows[:2]))


def test_only_the_floor_is_excused_its_verdict():
    floor = _row("floor, round 1", 0.8)
    floor.verdict = "(credits nothing)"
    assert side_by_side_correct([_row("service, round 1", 1.0), floor])
    failed = _row("baseline, round 1", 3.0)
    failed.verdict = "INCORRECT"
    assert not side_by_side_correct([failed, floor])


def test_the_baseline_is_excused_only_its_own_words():
    class Report:
        problems = [
            "4000 200 answers with status unexpected: 'already processed'",
            "2000 200 answers with status unexpected: 'processed'",
            "7 deliveries answered 500",
            "7707083893: balance moved by 2, expected 1",
        ]

    assert baseline_problems(Report()) == Report.problems[2:]


def test_the_baseline_database_is_on_the_same_server_and_role():
    url = "postgresql://payments@/payments?host=/tmp/pg"
    conninfo = baseline_database_url(url)
    assert "dbname=bench_baseline" in conninfo
    assert "host=/tmp/pg" in conninfo
    assert "user=payments" in conninfo
