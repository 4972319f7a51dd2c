from django.core.management.base import BaseCommand, CommandParser

from payments.selectors import payment_pending_stale_list
from payments.services.requeue import payment_pending_requeue


class Command(BaseCommand):
    help = (
        "Give a new credit job to every pending payment that has none queued or running (its "
        "jobs failed, were cancelled or lost), however often it was retried: run it once the "
        "cause is fixed. Lists what stays pending. See docs/background.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=0,
            metavar="SECONDS",
            help="only payments pending for longer than this (default: all)",
        )

    def handle(self, *args, older_than: int, **options) -> None:
        requeued = payment_pending_requeue(older_than_seconds=older_than, max_requeues=None)
        self.stdout.write(f"requeued {len(requeued)} pending payments: {requeued}")
        for payment in payment_pending_stale_list(older_than_seconds=older_than):
            self.stdout.write(
                f"pending {payment.operation_id} payer_inn={payment.payer_inn}"
                f" amount={payment.amount} age={payment.age_seconds}s job={payment.job_status}"
            )
