"""Django's ASGI handler, without the per-request thread a request that runs no sync code does
not need.

Django's handler sends `request_started` and closes the response (which sends
`request_finished`) through sync_to_async. Each request has its own thread-sensitive context, so
the first such call starts a new thread for the request: on the webhook, whose crediting runs on
the async pool and whose middleware and view are async, that thread did nothing but run Django's
`close_old_connections` and `reset_queries` where there was nothing to close or reset. Starting
it and handing work to it and back was the largest cost left per request (README "Performance").

Those two steps now run inline when the request has no thread yet (its receivers then look at
the event loop's thread, where the ORM never opens connections, and find nothing), and exactly
as Django runs them when it has one (a balance read or an admin page used the ORM there, and
`request_finished` must give that thread's connection back to the pool). Everything else is
Django 5.2's `ASGIHandler.handle`, unchanged; pyproject pins Django below 5.3, and a test checks
that connections of ORM requests are still given back.
"""

import asyncio
import contextlib

import django
from asgiref.sync import SyncToAsync, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.asgi import get_script_prefix
from django.urls import set_script_prefix


def asgi_handler_get() -> "ASGIHandler":
    """What django.core.asgi.get_asgi_application() does, with this handler."""
    django.setup(set_prefix=False)
    return ASGIHandler()


def _request_has_thread() -> bool:
    """Whether sync code of this request already ran in its own thread (asgiref keeps one
    executor per thread-sensitive context, which Django opens per request)."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    return context is not None and context in SyncToAsync.context_to_thread_executor


async def _in_request_thread_if_any(function, *args, **kwargs) -> None:
    if _request_has_thread():
        await sync_to_async(function)(*args, **kwargs)
    else:
        function(*args, **kwargs)


class ASGIHandler(DjangoASGIHandler):
    async def handle(self, scope, receive, send):
        # Django 5.2's ASGIHandler.handle; the changes are marked "changed".
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        # changed: Django awaits request_started.asend(), a thread hop for sync receivers.
        await _in_request_thread_if_any(
            signals.request_started.send, sender=self.__class__, scope=scope
        )
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await _in_request_thread_if_any(error_response.close)  # changed
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
            # changed: Django awaits sync_to_async(response.close)().
            await _in_request_thread_if_any(response.close)

        body_file.close()
