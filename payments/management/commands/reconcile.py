from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.reconciliation import (
    OrganizationReconciliation,
    reconciliation_extra_problems,
    reconciliation_report,
)
from payments.selectors import payment_pending_stale_list

# Fixed widths, so rows are printed as they stream in (a bigint balance has up to 19 digits).
COLUMNS = (
    ("inn", 12), ("balance", 19), ("log_total", 19), ("credited_total", 19),
    ("log_rows", 10), ("payments", 10), ("status", 8),
)  # fmt: skip


class Command(BaseCommand):
    help = (
        "Check every balance against its ledger: balance == sum of balance-log deltas == sum of "
        "credited payments, one log row per credited payment; and that no payment has been "
        "pending longer than --pending-after; and the checks other apps register (statements: "
        "conflicts and unconfirmed credits). Prints the mismatches and a summary (--all: every "
        "organization). Exits 1 on any mismatch, overdue pending payment or other problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            dest="all_organizations",
            help="list every organization, not only those that differ",
        )
        parser.add_argument(
            "--pending-after",
            type=int,
            default=settings.PAYMENTS_PENDING_STALE_SECONDS,
            metavar="SECONDS",
            help="a payment pending longer than this fails the check (default: "
            "PAYMENTS_PENDING_STALE_SECONDS, %(default)s)",
        )

    def handle(self, *args, all_organizations: bool, pending_after: int, **options) -> None:
        self._header_written = False
        show_progress = self.stdout.isatty()
        report = reconciliation_report(
            include_ok=all_organizations,
            on_organization=self._row,
            on_progress=self._progress if show_progress else None,
        )
        if show_progress:
            self.stdout.write("\r\033[K", ending="")
        for problem in report.payment_problems:
            self.stdout.write(f"payment {problem}")
        stale = payment_pending_stale_list(older_than_seconds=pending_after)
        for payment in stale:
            self.stdout.write(
                f"payment {payment.operation_id}: pending for {payment.age_seconds} s "
                f"(payer {payment.payer_inn}, amount {payment.amount}, "
                f"since {payment.created_at.isoformat()}, latest job {payment.job_status})"
            )
        extra = reconciliation_extra_problems()
        for problem in extra:
            self.stdout.write(problem)
        summary = (
            f"{report.organizations_checked} organizations, "
            f"{report.organizations_mismatched} mismatched; "
            f"{len(report.payment_problems)} payment problems; "
            f"{len(stale)} payments pending longer than {pending_after} s"
            + (f"; {len(extra)} other problems" if extra else "")
        )
        if not report.ok or stale or extra:
            raise CommandError(f"reconciliation FAILED: {summary}", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"reconciliation ok: {summary}"))

    def _progress(self, done: int, total: int) -> None:
        self.stdout.write(f"\rreconciling: step {done}/{total}", ending="")
        self.stdout.flush()

    def _row(self, row: OrganizationReconciliation) -> None:
        if not self._header_written:
            if self.stdout.isatty():
                self.stdout.write("\r\033[K", ending="")
            self._line(name for name, _ in COLUMNS)
            self._header_written = True
        self._line(
            str(value)
            for value in (
                row.inn, row.balance, row.log_total, row.credited_total, row.log_rows,
                row.credited_payments, "ok" if row.ok else "MISMATCH",
            )
        )  # fmt: skip

    def _line(self, values) -> None:
        # Text left, numbers right, as in any ledger.
        cells = [
            value.ljust(width) if i in (0, len(COLUMNS) - 1) else value.rjust(width)
            for i, (value, (_, width)) in enumerate(zip(values, COLUMNS, strict=True))
        ]
        self.stdout.write("  ".join(cells).rstrip())
