"""Django's stock middleware, without the thread hops they cost an async API request.

Mirrors Django 5.2's MiddlewareMixin.__call__/__acall__ (guarded by a drift test), which runs
process_request/process_response in a worker thread under ASGI. Sessions, auth, messages and
CSRF run for the admin only (the only cookie-authenticated part); security headers and
X-Frame-Options run inline (they only read settings). Subclasses keep Django's behaviour and its
checks; core/checks.py keeps them in MIDDLEWARE. Unnecessary once Django's stock middleware
is async-native. Also here, thread-free: django-axes' login limiting for the admin only.
"""

from asgiref.sync import sync_to_async
from axes.middleware import AxesMiddleware
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils import timezone
from django.utils.deprecation import MiddlewareMixin

from core.http.paths import admin_prefix

UPSTREAM = {
    "django.utils.deprecation.MiddlewareMixin.__call__": "Django 5.2.19",
    "django.utils.deprecation.MiddlewareMixin.__acall__": "Django 5.2.19",
}


class AdminOnlyMixin:
    """Django's middleware, stepping aside outside the admin. Every API request passes through
    each of these layers, so stepping aside is one call that hands the request on, not a
    coroutine of its own (the layer's __call__ returns the next layer's awaitable)."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self.admin_prefix = admin_prefix()

    def __call__(self, request):
        if not request.path_info.startswith(self.admin_prefix):
            return self.get_response(request)
        return super().__call__(request)


class AdminSessionMiddleware(AdminOnlyMixin, SessionMiddleware):
    pass


class AdminAuthenticationMiddleware(AdminOnlyMixin, AuthenticationMiddleware):
    pass


class AdminMessageMiddleware(AdminOnlyMixin, MessageMiddleware):
    pass


class AdminAxesMiddleware(AdminOnlyMixin, AxesMiddleware):
    """django-axes' lockout answer, for the admin only (the only login there is)."""


class AdminCsrfViewMiddleware(AdminOnlyMixin, CsrfViewMiddleware):
    """CSRF for the admin's cookie sessions. The API authenticates every request by signature
    or bearer token, never by cookie, so CSRF does not apply to it (DRF exempts its views too)."""

    # Async, so Django's handler calls it without a thread hop for every request.
    async def process_view(self, request, callback, callback_args, callback_kwargs):
        if not request.path_info.startswith(self.admin_prefix):
            return None
        return await sync_to_async(super().process_view)(
            request, callback, callback_args, callback_kwargs
        )


class InlineMiddlewareMixin:
    """MiddlewareMixin.__acall__ calling process_request/process_response directly instead of
    in a worker thread: only for middleware whose hooks neither block nor touch the database."""

    async def __acall__(self, request):
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class InlineSecurityMiddleware(InlineMiddlewareMixin, SecurityMiddleware):
    pass


class InlineXFrameOptionsMiddleware(InlineMiddlewareMixin, XFrameOptionsMiddleware):
    pass


class AdminTimeZoneMiddleware(AdminOnlyMixin, InlineMiddlewareMixin, MiddlewareMixin):
    """Admin pages render dates and count date filters in DISPLAY_TIME_ZONE. The API is left
    in UTC (DRF formats datetimes in the current time zone) and pays nothing for it."""

    def process_request(self, request):
        timezone.activate(settings.DISPLAY_TIME_ZONE)

    def process_response(self, request, response):
        timezone.deactivate()
        return response


# The stock middleware Django's deploy checks look for by name, and what stands in for each.
STANDS_IN_FOR = {
    "django.middleware.security.SecurityMiddleware": (
        "core.http.fastpath.middleware.InlineSecurityMiddleware"
    ),
    "django.middleware.csrf.CsrfViewMiddleware": (
        "core.http.fastpath.middleware.AdminCsrfViewMiddleware"
    ),
    "django.middleware.clickjacking.XFrameOptionsMiddleware": (
        "core.http.fastpath.middleware.InlineXFrameOptionsMiddleware"
    ),
    "axes.middleware.AxesMiddleware": "core.http.fastpath.middleware.AdminAxesMiddleware",
}
# Those needed only with the admin (ADMIN_ENABLED=0: nothing is cookie-authenticated or logs in).
ADMIN_ONLY = {"django.middleware.csrf.CsrfViewMiddleware", "axes.middleware.AxesMiddleware"}
