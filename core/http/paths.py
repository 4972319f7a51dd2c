"""Which requests are the admin's: the only cookie-authenticated part of the service."""

from django.conf import settings


def admin_prefix() -> str:
    """The path every admin page starts with (`/admin/` unless ADMIN_URL says otherwise)."""
    return f"/{settings.ADMIN_URL}"


def is_admin_path(path: str) -> bool:
    return path.startswith(admin_prefix())
