#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    from django.core.management import execute_from_command_line

    from core.errors import SettingError

    try:
        execute_from_command_line(sys.argv)
    except SettingError as error:
        # A refused setting is one line naming it, not a traceback (core.settings.env).
        sys.exit(str(error))


if __name__ == "__main__":
    main()
