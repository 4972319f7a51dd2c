"""CPU time of a process tree, read from /proc: what a storm cost a server and its database.

A process's utime + stime + cutime + cstime (/proc/PID/stat) is its own CPU time plus that of
the children it has reaped; adding every live descendant's gives the whole tree's, with nothing
counted twice (a child's time moves into its parent's cutime only once the child is gone).
Read before and after a storm, the difference over the deliveries sent is the CPU per delivery:
the same measure for any server (uvicorn's workers, gunicorn's), whatever the machine's load.
Linux only; elsewhere, or for a process on another host, the readers return None.
"""

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    ticks: int  # utime + stime + cutime + cstime, in clock ticks


def proc_stat_parse(line: str) -> ProcStat:
    """One /proc/PID/stat line. The command name (field 2) is in parentheses and may itself
    hold spaces and parentheses, so the fields are counted from its last ")"."""
    pid = int(line[: line.index(" ")])
    rest = line[line.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14-17.
    return ProcStat(pid=pid, ppid=int(rest[1]), ticks=sum(int(value) for value in rest[11:15]))


def tree_ticks(root: int, stats: list[ProcStat]) -> int:
    """The CPU ticks of root and all its live descendants, among stats."""
    children: dict[int, list[ProcStat]] = {}
    by_pid = {}
    for stat in stats:
        children.setdefault(stat.ppid, []).append(stat)
        by_pid[stat.pid] = stat
    if root not in by_pid:
        raise ProcessLookupError(root)
    total, pending = 0, [by_pid[root]]
    while pending:
        stat = pending.pop()
        total += stat.ticks
        pending.extend(children.get(stat.pid, ()))
    return total


def _all_stats() -> list[ProcStat]:
    stats = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stats.append(proc_stat_parse((entry / "stat").read_text()))
            except (OSError, ValueError, IndexError):
                continue  # it exited while being read
    return stats


def tree_cpu_seconds(root: int) -> float | None:
    """CPU seconds of process root's tree so far; None without /proc or without that process."""
    if not PROC.is_dir():
        return None
    try:
        return tree_ticks(root, _all_stats()) / os.sysconf("SC_CLK_TCK")
    except ProcessLookupError:
        return None


def parent_pid(pid: int) -> int | None:
    """The parent of process pid (a PostgreSQL backend's is the server), None if not here."""
    try:
        return proc_stat_parse((PROC / str(pid) / "stat").read_text()).ppid
    except (OSError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of the server's and the database's trees at one moment (None: unknown)."""

    server: float | None
    database: float | None


def per_delivery_ms(before: CpuSample, after: CpuSample, deliveries: int) -> CpuSample:
    """Milliseconds of CPU per delivery between two samples, for the server and the database."""

    def share(first: float | None, last: float | None) -> float | None:
        if first is None or last is None or deliveries <= 0:
            return None
        return (last - first) * 1000 / deliveries

    return CpuSample(
        server=share(before.server, after.server),
        database=share(before.database, after.database),
    )
