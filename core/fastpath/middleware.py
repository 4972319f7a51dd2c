"""Django's stock middleware, without the thread hops they cost an async API request.

Under ASGI, Django runs a MiddlewareMixin's process_request/process_response, and any sync
process_view, in a worker thread, one hop there and back each; WhiteNoise is sync only, which
adapts the whole chain. On the webhook these hops were the largest cost of a request (README
"Performance"). So:
- sessions, auth, messages and CSRF protect the admin only (the only cookie-authenticated
  part); elsewhere they step aside;
- security headers and X-Frame-Options run inline: they only read settings and set headers;
- static files are looked up only under STATIC_URL.
They are subclasses, so Django's behaviour and the admin's system checks are unchanged;
payments/checks.py makes sure they stay in MIDDLEWARE, since --deploy looks for the stock names.
"""

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from whitenoise.middleware import WhiteNoiseMiddleware


def _admin_prefix() -> str:
    return f"/{settings.ADMIN_URL}"


def _is_admin(request) -> bool:
    return request.path_info.startswith(_admin_prefix())


class AdminOnlyMixin:
    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        if not _is_admin(request):
            return self.get_response(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if not _is_admin(request):
            return await self.get_response(request)
        return await super().__acall__(request)


class AdminSessionMiddleware(AdminOnlyMixin, SessionMiddleware):
    pass


class AdminAuthenticationMiddleware(AdminOnlyMixin, AuthenticationMiddleware):
    pass


class AdminMessageMiddleware(AdminOnlyMixin, MessageMiddleware):
    pass


class AdminCsrfViewMiddleware(AdminOnlyMixin, CsrfViewMiddleware):
    """CSRF for the admin's cookie sessions. The API authenticates every request by signature
    or bearer token, never by cookie, so CSRF does not apply to it (DRF exempts its views too)."""

    # Async, so Django's handler calls it without a thread hop for every request.
    async def process_view(self, request, callback, callback_args, callback_kwargs):
        if not _is_admin(request):
            return None
        return await sync_to_async(super().process_view)(
            request, callback, callback_args, callback_kwargs
        )


class InlineMiddlewareMixin:
    """Call process_request/process_response directly instead of in a worker thread: only for
    middleware whose hooks neither block nor touch the database."""

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


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise (static files for the admin and Swagger UI), async: other paths pass straight
    through, and a static file is served in a thread (serving opens the file)."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        markcoroutinefunction(self)

    async def __call__(self, request):
        if not request.path_info.startswith(self.static_prefix):
            return await self.get_response(request)
        if self.autorefresh:  # development: files are looked up on disk at each request
            static_file = await sync_to_async(self.find_file)(request.path_info)
        else:  # the index built at startup, in memory
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        return await sync_to_async(self.serve)(static_file, request)


# The stock middleware Django's deploy checks look for by name, and what stands in for each.
STANDS_IN_FOR = {
    "django.middleware.security.SecurityMiddleware": (
        "core.fastpath.middleware.InlineSecurityMiddleware"
    ),
    "django.middleware.csrf.CsrfViewMiddleware": "core.fastpath.middleware.AdminCsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware": (
        "core.fastpath.middleware.InlineXFrameOptionsMiddleware"
    ),
}
