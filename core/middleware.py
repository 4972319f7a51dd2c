"""Django's session, auth and messages middleware, run for the admin only.

Under ASGI each of Django's stock middleware costs every request a hop to a worker thread and
back, because they are synchronous. The API needs none of them (no sessions, cookies or users),
and together they added about a quarter to the CPU time of an API request (see README "Operating
it"). These subclasses step aside for every path outside the admin; being subclasses, the admin's
system checks still find them.
"""

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware


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
