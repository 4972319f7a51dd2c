import json
import pathlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from statements.errors import StatementInvalid
from statements.imports import statement_file_import
from statements.report import LineConflict, StatementReport

# The exit codes an operator's script reads (docs/statements.md, "Importing a statement").
EXIT_DISCREPANCIES = 1
EXIT_REFUSED = 2


class Command(BaseCommand):
    help = (
        "Import a bank statement (1C client-bank exchange or camt.053): match its incoming lines "
        "to payments and credit the missed ones. Exits 0 when every line matched or was "
        "credited, 1 when the import found conflicts or unconfirmed credits, 2 when the file is "
        "refused (nothing imported)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=pathlib.Path, help="the statement file")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the report as JSON"
        )

    def handle(self, *args, file: pathlib.Path, as_json: bool, **options) -> None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}", returncode=EXIT_REFUSED) from None
        if len(data) > settings.STATEMENT_MAX_BYTES:
            raise CommandError(
                f"{file}: {len(data)} bytes, over STATEMENT_MAX_BYTES "
                f"({settings.STATEMENT_MAX_BYTES})",
                returncode=EXIT_REFUSED,
            )
        try:
            report = statement_file_import(data=data, filename=file.name)
        except StatementInvalid as exc:
            raise CommandError(f"{file}: refused: {exc.message}", returncode=EXIT_REFUSED) from None
        self._print(report, as_json=as_json)
        if not report.ok:
            raise CommandError(
                f"imported; an operator should look at {len(report.conflicts)} conflict(s) and "
                f"{len(report.unconfirmed)} unconfirmed credit(s) (docs/statements.md)",
                returncode=EXIT_DISCREPANCIES,
            )

    def _print(self, report: StatementReport, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
            return
        for line in report_summary(report):
            self.stdout.write(line)


def report_summary(report: StatementReport) -> list[str]:
    """A few lines an operator reads: the statement, its counts, and each discrepancy."""
    s = report.statement
    lines = [
        f"statement {s.id}: {s.format} {s.version}, {', '.join(s.accounts)}, "
        f"{s.period_start}..{s.period_end}"
        + (" (already imported)" if report.already_imported else ""),
        f"lines: {s.lines_total} ({s.lines_incoming} incoming, {s.lines_outgoing} outgoing); "
        f"matched {len(report.matched)}, credited {len(report.credited)}, "
        f"conflicts {len(report.conflicts)}, unconfirmed {len(report.unconfirmed)}",
    ]
    lines += [
        f"credited {c.where}: operation {c.operation_id}, payer {c.payer_inn}, amount {c.amount}"
        for c in report.credited
    ]
    lines += [conflict_describe(c) for c in report.conflicts]
    lines += [
        f"unconfirmed: operation {u.operation_id}, payer {u.payer_inn}, amount {u.amount}, "
        f"credited {u.credited_at.isoformat()}"
        for u in report.unconfirmed
    ]
    return lines


def conflict_describe(c: LineConflict) -> str:
    """One line saying why a line was not credited, in an operator's words."""
    if "unidentified" in c.differing_fields:
        return (
            f"conflict {c.where}: not credited, the line has neither an operation id nor a whole "
            f"identity (payer INN {c.line_payer_inn or 'missing'}, amount {c.line_amount})"
        )
    return (
        f"conflict {c.where}: not credited, operation {c.operation_id} is recorded with another "
        f"{' and '.join(c.differing_fields)} (line: amount {c.line_amount}, payer "
        f"{c.line_payer_inn}; payment: amount {c.payment_amount}, payer {c.payment_payer_inn})"
    )
