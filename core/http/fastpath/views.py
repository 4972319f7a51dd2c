"""The project's base API view: adrf's APIView without its thread hops.

Mirrors adrf 0.1.14's APIView.async_dispatch (guarded by a drift test). adrf runs initial()
(negotiation, authentication, permissions, throttles) through sync_to_async; here it runs inline
(after the method check: a method the view lacks is a 405 before any authentication),
and the JSON response is rendered here rather than in a Django worker thread. Unnecessary once
adrf's initial() is a coroutine (it now runs async permissions through async_to_sync).

APIView.rendered mirrors DRF 3.18's Response.rendered_content (guarded by a drift test) for a
view's answer on the hot path: what Response(data) would become, as one plain response.
"""

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.http.negotiation import AnyFirstContentNegotiation

UPSTREAM = {
    "adrf.views.APIView.async_dispatch": "adrf 0.1.14",
    "rest_framework.response.Response.rendered_content": "DRF 3.18.3",
}


class APIView(AsyncAPIView):
    """Only for views whose permissions and authenticators compute and never block: no
    database, no network (payments/auth.py checks an HMAC or compares a token). REST_FRAMEWORK
    has no default authentication classes and no throttles."""

    content_negotiation_class = AnyFirstContentNegotiation

    async def async_dispatch(self, request, *args, **kwargs):
        # adrf's async_dispatch, with initial() called directly.
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            if handler is None:
                # Changed: 405 before authentication (adrf: after), so that an unsigned TRACE
                # is told its method is wrong, as the schema says, not that it lacks a signature.
                self.http_method_not_allowed(request, *args, **kwargs)
            self.initial(request, *args, **kwargs)
            if iscoroutinefunction(handler):
                response = await handler(request, *args, **kwargs)
            else:  # DRF's own options(), for one
                response = await sync_to_async(handler)(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return _rendered(self.response)

    def rendered(self, data, *, status: int = 200) -> HttpResponse:
        """Response(data, status=status) as the client gets it, rendered by the negotiated JSON
        renderer into one plain response: DRF would build a template response, render it, and
        _rendered would copy it into a second one. With any other renderer, DRF's Response."""
        request = self.request
        renderer = getattr(request, "accepted_renderer", None)
        if not isinstance(renderer, JSONRenderer):
            return Response(data, status=status)
        # Response.rendered_content, for a response without a content_type of its own (and no
        # Response in the renderer's context: none exists; DRF's JSON renderers never read it).
        charset = renderer.charset
        content_type = renderer.media_type
        if charset is not None:
            content_type = f"{content_type}; charset={charset}"
        context = self.get_renderer_context()
        content = renderer.render(data, request.accepted_media_type, context)
        if isinstance(content, str):
            content = content.encode(charset)
        plain = HttpResponse(content, status=status, content_type=content_type)
        if not content:
            del plain["Content-Type"]
        return plain


def _rendered(response) -> HttpResponse:
    if not hasattr(response, "render"):  # APIView.rendered's: rendered already
        return response
    response.render()
    plain = HttpResponse(response.content, status=response.status_code)
    # The rendered response's headers, already checked and encoded, not set again one by one.
    plain.headers = response.headers
    return plain
