"""`manage.py changepassword` as the owner role (core.management.owner); core is listed before
django.contrib.auth, so this command replaces auth's own."""

from django.contrib.auth.management.commands.changepassword import Command as DjangoCommand

from core.management.owner import OwnerRoleCommand


class Command(OwnerRoleCommand, DjangoCommand):
    help = DjangoCommand.help + OwnerRoleCommand.help_suffix
