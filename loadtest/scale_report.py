"""What `make bench-scale` writes: the tables (scale.md), the numbers (scale.json), the picture."""

import os
import statistics
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Point:
    rows: int  # history rows (payments = balance-log rows) before the storm
    case: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    verdict: str
    load_average: float  # 1-minute load average right after the storm (2 CPUs)
    round: int = 1


def _machine() -> dict:
    import platform

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "note": "2 vCPU shared with other jobs; see load_average per storm",
    }


@dataclass
class Summary:
    """One (rows, case, concurrency) over its rounds: medians, and the spread of req/s."""

    rows: int
    case: str
    concurrency: int
    rps: float
    rps_min: float
    rps_max: float
    p50_ms: float
    p99_ms: float
    verdict: str
    load_average: float
    rounds: int


def scale_summaries(points: list[Point]) -> list[Summary]:
    groups: dict[tuple, list[Point]] = {}
    for point in points:
        groups.setdefault((point.rows, point.case, point.concurrency), []).append(point)
    return [
        Summary(
            rows,
            case,
            concurrency,
            statistics.median(p.rps for p in group),
            min(p.rps for p in group),
            max(p.rps for p in group),
            statistics.median(p.p50_ms for p in group),
            statistics.median(p.p99_ms for p in group),
            next((p.verdict for p in group if p.verdict != "CORRECT"), "CORRECT"),
            statistics.mean(p.load_average for p in group),
            len(group),
        )
        for (rows, case, concurrency), group in groups.items()
    ]


def scale_markdown(points: list[Point], loads: list[dict], operations: dict, machine: dict) -> str:
    """The storms by table size, each against the same case on the empty table."""
    summaries = scale_summaries(points)
    smallest = min(s.rows for s in summaries)
    base = {(s.case, s.concurrency): s for s in summaries if s.rows == smallest}
    rounds = max(s.rounds for s in summaries)
    lines = [
        f"Machine: {machine['cpus']} CPUs ({machine['note']}), {machine['platform']}.",
        f"Each storm case ran {rounds} times per size, the sizes in turn; medians, with the "
        "range of req/s over the runs.",
        "",
        "| history rows | case | conc. | req/s | range | vs empty | p50 ms | p99 ms "
        "| p99 vs empty | verdict | load avg |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for s in sorted(
        (s for s in summaries if s.case != "sweep"),
        key=lambda s: (["spread", "hot", "burst"].index(s.case), s.rows),
    ):
        ref = base.get((s.case, s.concurrency))
        rps_delta = f"{s.rps / ref.rps - 1:+.1%}" if ref and s is not ref else ""
        p99_delta = f"{s.p99_ms / ref.p99_ms - 1:+.1%}" if ref and s is not ref else ""
        lines.append(
            f"| {s.rows:,} | {s.case} | {s.concurrency} | {s.rps:.0f} "
            f"| {s.rps_min:.0f}-{s.rps_max:.0f} | {rps_delta} | {s.p50_ms:.0f} | {s.p99_ms:.0f} "
            f"| {p99_delta} | {s.verdict} | {s.load_average:.1f} |"
        )
    sweep = [s for s in summaries if s.case == "sweep"]
    if sweep:
        lines += [
            "",
            "Concurrency sweep (spread storm, 5 organizations, one run each):",
            "",
            "| history rows | conc. | req/s | p50 ms | p99 ms | verdict | load avg |",
            "|---:|---:|---:|---:|---:|---|---:|",
        ]
        lines += [
            f"| {s.rows:,} | {s.concurrency} | {s.rps:.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} "
            f"| {s.verdict} | {s.load_average:.1f} |"
            for s in sweep
        ]
    lines += ["", "History loads (each level in a database of its own):", ""]
    lines += [
        f"- {load['count']:,} payments (+ as many balance-log rows): inserted and indexed in "
        f"{load['load_seconds']} s, {load['total_seconds']} s with VACUUM ANALYZE and "
        f"CHECKPOINT; database {load['database_size']}"
        for load in loads
    ]
    requeue_timing, reconcile = operations["requeue"], operations["reconcile"]
    lines += [
        "",
        f"At {max(s.rows for s in summaries):,} rows:",
        "",
        f"- pending-payment requeue query: {requeue_timing['median_ms']} ms "
        f"({'; '.join(requeue_timing['plan'])})",
        f"- `manage.py reconcile`: {reconcile['seconds']} s, peak memory "
        f"{reconcile['peak_rss_mb']} MB, exit {reconcile['exit_code']} "
        f"(`{reconcile['summary']}`)",
    ]
    lines += [
        f"- admin `{page}/` list: {timing['best_ms']} ms (HTTP {timing['status']}, best of 3)"
        for page, timing in operations["admin"].items()
    ]
    return "\n".join(lines) + "\n"


def scale_plot(points: list[Point], path: Path) -> None:  # medians over the rounds
    """Throughput and p50/p99 against concurrency (one line per table size) and against table
    size (one line per storm case)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    points = scale_summaries(points)
    sweep = [p for p in points if p.case == "sweep"]
    for rows in sorted({p.rows for p in sweep}):
        series = sorted((p for p in sweep if p.rows == rows), key=lambda p: p.concurrency)
        _plot_series(axes[0], [p.concurrency for p in series], series, f"{rows:,} rows")
    _style_row(axes[0], "concurrency (spread)", xlabel="requests in flight")
    for ax in axes[0]:
        ax.set_xscale("log", base=2)
    axes[0][1].set_yscale("log")
    cases = [p for p in points if p.case != "sweep"]
    for case in dict.fromkeys(p.case for p in cases):
        series = sorted((p for p in cases if p.case == case), key=lambda p: p.rows)
        label = f"{case} (c={series[0].concurrency})"
        _plot_series(axes[1], [max(p.rows, 1) for p in series], series, label)
    _style_row(axes[1], "history size", xlabel="payments in the table (0 = empty)")
    for ax in axes[1]:
        ax.set_xscale("symlog", linthresh=1_000_000)
        ax.set_ylim(bottom=0)
    fig.suptitle(f"bank-webhook payments, {os.cpu_count()} vCPU shared machine")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_series(row, x: list, series: list[Point], label: str) -> None:
    """One series on a row of the picture: throughput on the left, p99 and p50 on the right."""
    rps, latency = row
    rps.plot(x, [p.rps for p in series], marker="o", label=label)
    (line,) = latency.plot(x, [p.p99_ms for p in series], marker="o", label=f"p99, {label}")
    latency.plot(
        x, [p.p50_ms for p in series], marker=".", linestyle="--", color=line.get_color(),
        label=f"p50, {label}",
    )  # fmt: skip


def _style_row(row, against: str, *, xlabel: str) -> None:
    for ax, what, unit in zip(row, ("Throughput", "Latency"), ("req/s", "ms"), strict=True):
        ax.set_xlabel(xlabel)
        ax.set_title(f"{what} vs {against}")
        ax.set_ylabel(unit)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
