"""Django's session, auth and messages middleware, run for the admin only.

Under ASGI each of Django's stock middleware costs every request a hop to a worker thread and
back, because they are synchronous. The API needs none of them (no sessions, cookies or users),
and together they added about a quarter to the CPU time of an API request (see README "Operating
it"). These subclasses step aside for every path outside the admin; being subclasses, the admin's
system checks still find them.
"""

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from whitenoise.middleware import WhiteNoiseMiddleware


def _admin_prefix() -> str:
    return f"/{settings.ADMIN_URL}"


class AdminOnlyMixin:
    def __call__(self, request):
        if self.async_mode:
            return self.__acall__(request)
        if not request.path_info.startswith(_admin_prefix()):
            return self.get_response(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if not request.path_info.startswith(_admin_prefix()):
            return await self.get_response(request)
        return await super().__acall__(request)


class AdminSessionMiddleware(AdminOnlyMixin, SessionMiddleware):
    pass


class AdminAuthenticationMiddleware(AdminOnlyMixin, AuthenticationMiddleware):
    pass


class AdminMessageMiddleware(AdminOnlyMixin, MessageMiddleware):
    pass


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise (static files for the admin and Swagger UI) without its cost to the API.

    WhiteNoise's middleware is synchronous only: with it in the chain, Django runs every
    request, API calls included, through an extra sync/async thread round trip. This one is
    async: other paths pass straight through, and only a static file is served in a thread
    (serving opens the file).
    """

    sync_capable = False
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        markcoroutinefunction(self)

    async def __call__(self, request):
        if not request.path_info.startswith(self.static_prefix):
            return await self.get_response(request)
        static_file = await sync_to_async(self._static_file_find)(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        return await sync_to_async(self.serve)(static_file, request)

    def _static_file_find(self, path: str):
        # In development (autorefresh) files are looked up on disk at each request.
        return self.find_file(path) if self.autorefresh else self.files.get(path)
