"""DRF's content negotiation, with its most common answer known in advance."""

from rest_framework.negotiation import DefaultContentNegotiation


class AnyFirstContentNegotiation(DefaultContentNegotiation):
    """DRF's DefaultContentNegotiation, except that a request accepting anything (no Accept
    header, or `*/*`) without a format override gets the first renderer and its media type
    directly, which is DRF's own answer for it (core/tests/http/test_negotiation.py compares
    the two); any other request is negotiated by DRF. Parsing the header per request was 2% of
    a webhook delivery, whose sender accepts anything."""

    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request.META
        if (
            format_suffix is None
            and meta.get("HTTP_ACCEPT", "*/*") == "*/*"
            and not meta.get("QUERY_STRING")
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
