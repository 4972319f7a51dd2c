from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The project itself as an app: its system checks, and the admin's site-wide templates."""

    name = "core"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers the system checks)
