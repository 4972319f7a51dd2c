"""A storm's summary: rich tables for a person, one JSON object for a script."""

import json

from rich.console import Console
from rich.table import Table

from loadtest.storm_plan import NO_RESPONSE, StormReport


def report_json(report: StormReport) -> str:
    """Every number of the report as one JSON object (status codes become string keys)."""
    return json.dumps(report.as_dict())


def report_print(report: StormReport, console: Console) -> None:
    """The summary table, the per-organization table and the verdict."""
    console.print(_summary_table(report))
    console.print(_organizations_table(report))
    for problem in report.problems:
        console.print(f"[red]- {problem}[/red]")
    if report.server_errors:
        console.print(f"[red]- {report.server_errors} server errors (final 5xx or any 500)[/red]")
    colour = "green" if report.correct else "red"
    verdict = f"[bold {colour}]{report.verdict}[/bold {colour}]"
    exit_note = "exit 0" if report.ok else "exit 1"
    console.print(f"Verdict: {verdict} ({exit_note})")


def _summary_table(report: StormReport) -> Table:
    table = Table(title=f"Duplicate storm against {report.url}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    late = f" + {report.late_repeats} late repeats" if report.late_repeats else ""
    latencies = (report.p50_ms, report.p95_ms, report.p99_ms, report.max_ms)
    drain = report.drain_seconds
    rows = [
        ("operations", f"{report.operations} x {report.copies} copies{late}"),
        ("requests", str(report.requests)),
        ("seconds", f"{report.seconds:.2f}"),
        ("req/s", f"{report.rps:.1f}"),
        ("latency ms p50 / p95 / p99 / max", " / ".join(f"{ms:.1f}" for ms in latencies)),
        ("statuses", _histogram({_status_label(s): n for s, n in report.statuses.items()})),
        ("answers", _histogram(report.outcomes)),
        ("retries", f"{report.retries} {_histogram(report.retried)}".strip()),
        ("server errors", str(report.server_errors)),
        ("drain seconds", "not reached" if drain is None else f"{drain:.3f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _organizations_table(report: StormReport) -> Table:
    table = Table(title="Balances")
    for name in ("INN", "operations", "before", "after", "expected Δ", "actual Δ", ""):
        table.add_column(name, justify="left" if name == "INN" else "right")
    for org in report.organizations:
        mark = "[green]ok[/green]" if org.correct else "[red]WRONG[/red]"
        table.add_row(
            org.inn,
            str(org.operations),
            str(org.before),
            str(org.after),
            str(org.expected_delta),
            str(org.actual_delta),
            mark,
        )
    return table


def _status_label(status: int) -> str:
    return "no answer" if status == NO_RESPONSE else str(status)


def _histogram(counts: dict) -> str:
    return ", ".join(f"{key}: {count}" for key, count in counts.items())
