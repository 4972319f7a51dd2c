"""The project's base API view."""

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpResponse


class APIView(AsyncAPIView):
    """adrf's APIView without its thread hops for initial() and for rendering.

    adrf runs initial() (content negotiation, authentication, permissions, throttles) through
    sync_to_async: a hop to a worker thread and back on every request. Here nothing in it
    blocks: REST_FRAMEWORK has no authentication classes and no throttles, and the permission
    classes (payments/auth.py) only compute (an HMAC, a token comparison). So it runs inline.
    A permission or authenticator that touches the database must not be added to a view
    derived from this one.

    Django renders a DRF Response (a SimpleTemplateResponse) in a worker thread too; rendering
    JSON only computes, so it happens here and Django gets a plain, rendered HttpResponse.
    """

    async def async_dispatch(self, request, *args, **kwargs):
        # adrf's async_dispatch, with initial() called directly.
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            handler = handler or self.http_method_not_allowed
            if iscoroutinefunction(handler):
                response = await handler(request, *args, **kwargs)
            else:  # DRF's own options(), for one
                response = await sync_to_async(handler)(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return _rendered(self.response)


def _rendered(response) -> HttpResponse:
    response.render()
    plain = HttpResponse(response.content, status=response.status_code)
    for header, value in response.items():
        plain[header] = value
    return plain
