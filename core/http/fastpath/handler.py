"""Django's ASGI handler, without a thread for requests that run no sync code.

Mirrors Django 5.2's ASGIHandler.handle (guarded by a drift test). Django sends request_started
and closes the response (request_finished) through sync_to_async, which starts a thread per
request only to find nothing to clean up. Here, when every receiver is one of Django's own,
which only clean up after sync code: request_started is not sent (nothing has run yet), and the
response is closed inline when the request has no thread. Otherwise both go exactly as Django
sends them. Unnecessary once Django skips sync_to_async for these signals when a request ran no
sync code.

Also mirrors BaseHandler.resolve_request (drift-tested), keeping the match of a fixed path (a
named view, no arguments: the webhook's) so that each delivery does not resolve it again.
"""

import asyncio
import contextlib
import weakref
from types import MappingProxyType

import django
from asgiref.sync import sync_to_async
from django.core import signals
from django.core.cache import close_caches
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.asgi import get_script_prefix
from django.core.handlers.base import reset_urlconf
from django.db import close_old_connections, reset_queries
from django.dispatch import Signal
from django.urls import ResolverMatch, URLResolver, get_resolver, set_script_prefix

from core.private_apis import context_has_thread, response_handler_class, signal_receivers

UPSTREAM = {
    "django.core.handlers.asgi.ASGIHandler.handle": "Django 5.2.19",
    "django.core.handlers.base.BaseHandler.resolve_request": "Django 5.2.19",
}

# Django's receivers of the request signals. They act on the current thread's (or context's)
# connections, caches and urlconf: on the event loop's thread, where the ORM never opens a
# connection, they find nothing to close. Any other receiver runs as Django runs it.
INLINE_RECEIVERS = frozenset({reset_queries, close_old_connections, close_caches, reset_urlconf})


def asgi_handler_get() -> "ASGIHandler":
    """What django.core.asgi.get_asgi_application() does, with this handler."""
    django.setup(set_prefix=False)
    return ASGIHandler()


def receivers_not_inline(signal: Signal, sender: type) -> list[str]:
    """The receivers of signal that make the handler send it as Django does (in a thread)."""
    # Worked out again only when the signal's receivers change (connect and disconnect edit its
    # list). A receiver that died since errs towards sending as Django does.
    connected = tuple(signal.receivers)
    seen = _receivers_seen.get((signal, sender))
    if seen is not None and seen[0] == connected:
        return seen[1]
    sync_receivers, async_receivers = signal_receivers(signal, sender)
    names = [
        f"{receiver.__module__}.{receiver.__qualname__}"
        for receiver in [*sync_receivers, *async_receivers]
        if receiver not in INLINE_RECEIVERS
    ]
    _receivers_seen[(signal, sender)] = (connected, names)
    return names


_receivers_seen: dict[tuple[Signal, type], tuple[tuple, list[str]]] = {}


# A URL resolver's matches for paths that resolve to a named view with no arguments (the
# webhook's, the probes'), by path: a bounded few, never a path a client made up (those reach the
# unnamed catch-all). A new resolver (Django's clear_url_caches) starts with none.
_MATCHES_KEPT = 64
_matches: "weakref.WeakKeyDictionary[URLResolver, dict[str, ResolverMatch]]" = (
    weakref.WeakKeyDictionary()
)


class ASGIHandler(DjangoASGIHandler):
    def resolve_request(self, request):
        # Django 5.2's BaseHandler.resolve_request, keeping the matches above (changed).
        if hasattr(request, "urlconf"):
            return super().resolve_request(request)
        resolver = get_resolver()
        kept = _matches.setdefault(resolver, {})
        resolver_match = kept.get(request.path_info)
        if resolver_match is None:
            resolver_match = resolver.resolve(request.path_info)
            if _keepable(resolver_match) and len(kept) < _MATCHES_KEPT:
                # Middleware is handed the match's kwargs (process_view): read-only, so that no
                # request can leave anything in them for the next.
                resolver_match.kwargs = MappingProxyType(resolver_match.kwargs)
                kept[request.path_info] = resolver_match
        request.resolver_match = resolver_match
        return resolver_match

    async def handle(self, scope, receive, send):
        # Django 5.2's ASGIHandler.handle; the changes are marked "changed".
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        # changed: Django awaits request_started.asend(), a thread hop for sync receivers. When
        # its receivers are only Django's own, it is not sent: they close and reset the current
        # thread's database connections, before the request has run anything, and this is the
        # event loop's thread, where no request runs the ORM. (What the startup's system check
        # left open on it is closed by the first request_finished, which is always sent.)
        if receivers_not_inline(signals.request_started, self.__class__):
            await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await _response_close(error_response)  # changed
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
            return response

        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            await _response_close(response)  # changed: Django awaits sync_to_async(close)()

        body_file.close()


def _keepable(match: ResolverMatch) -> bool:
    return match.url_name is not None and not match.args and not match.kwargs


async def _response_close(response) -> None:
    """Close the response (it sends request_finished) inline when nothing needs the thread:
    when the request used the ORM, request_finished must give that thread's connection back."""
    if context_has_thread() or receivers_not_inline(
        signals.request_finished, response_handler_class(response)
    ):
        await sync_to_async(response.close)()
    else:
        response.close()
