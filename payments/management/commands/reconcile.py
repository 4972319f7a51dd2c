from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.selectors import reconciliation_report

COLUMNS = ("inn", "balance", "log_total", "credited_total", "log_rows", "payments", "status")


class Command(BaseCommand):
    help = (
        "Check every balance against its ledger: balance == sum of balance-log deltas == sum of "
        "credited payments, one log row per credited payment. Exits 1 on any mismatch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mismatches-only", action="store_true", help="list only organizations that differ"
        )

    def handle(self, *args, mismatches_only: bool, **options) -> None:
        report = reconciliation_report()
        rows = [
            (row.inn, row.balance, row.log_total, row.credited_total, row.log_rows,
             row.credited_payments, "ok" if row.ok else "MISMATCH")
            for row in report.organizations
            if not (mismatches_only and row.ok)
        ]  # fmt: skip
        self._table(rows)
        for problem in report.payment_problems:
            self.stdout.write(f"payment {problem}")
        mismatched = sum(not row.ok for row in report.organizations)
        summary = (
            f"{len(report.organizations)} organizations, {mismatched} mismatched; "
            f"{len(report.payment_problems)} payment problems"
        )
        if not report.ok:
            raise CommandError(f"reconciliation FAILED: {summary}", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"reconciliation ok: {summary}"))

    def _table(self, rows: list[tuple]) -> None:
        cells = [COLUMNS, *[tuple(str(value) for value in row) for row in rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
        for row in cells:
            # Text left, numbers right, as in any ledger.
            line = "  ".join(
                value.ljust(width) if i in (0, len(COLUMNS) - 1) else value.rjust(width)
                for i, (value, width) in enumerate(zip(row, widths, strict=True))
            )
            self.stdout.write(line.rstrip())
