from django.core.management.base import BaseCommand, CommandParser
from faker import Faker

from payments.services.seeding import organization_seed


class Command(BaseCommand):
    help = "Create demo organizations (Faker ru_RU INNs and names, zero balance). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=5, help="how many organizations (5)")
        parser.add_argument(
            "--seed",
            type=int,
            default=2024,
            help="Faker seed: the same seed yields the same organizations, so reruns find them",
        )

    def handle(self, *args, count: int, seed: int, **options) -> None:
        fake = Faker("ru_RU")
        fake.seed_instance(seed)
        wanted = [(fake.businesses_inn(), fake.company()) for _ in range(count)]
        for organization, created in organization_seed(organizations=wanted):
            verb = "created" if created else "found  "
            self.stdout.write(
                f"{verb} {organization.inn} balance={organization.balance} {organization.name}"
            )
