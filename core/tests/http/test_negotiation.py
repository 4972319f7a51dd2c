"""The shortcut of AnyFirstContentNegotiation gives DRF's own answer, or leaves it to DRF."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.http.negotiation import AnyFirstContentNegotiation

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


def _request(accept: str | None, path: str = "/api/webhook/bank/") -> Request:
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().post(path, **extra))


@pytest.mark.parametrize(
    ("accept", "path"),
    [
        (None, "/api/webhook/bank/"),
        ("*/*", "/api/webhook/bank/"),
        ("text/html", "/api/webhook/bank/"),
        ("application/json; indent=4", "/api/webhook/bank/"),
        ("*/*", "/api/webhook/bank/?format=api"),
        ("text/*, */*;q=0.1", "/api/webhook/bank/"),
    ],
)
def test_the_renderer_chosen_is_drfs(accept, path):
    ours = AnyFirstContentNegotiation().select_renderer(_request(accept, path), RENDERERS)
    drfs = DefaultContentNegotiation().select_renderer(_request(accept, path), RENDERERS)
    assert (type(ours[0]), ours[1]) == (type(drfs[0]), drfs[1])


class _Counting(DefaultContentNegotiation):
    negotiated = 0

    def select_renderer(self, request, renderers, format_suffix=None):
        _Counting.negotiated += 1
        return super().select_renderer(request, renderers, format_suffix)


class _Shortcut(AnyFirstContentNegotiation, _Counting):
    pass


def test_the_shortcut_is_taken_for_a_request_accepting_anything():
    _Shortcut().select_renderer(_request(None), RENDERERS)
    _Shortcut().select_renderer(_request("*/*"), RENDERERS)
    assert _Counting.negotiated == 0
    _Shortcut().select_renderer(_request("text/html"), RENDERERS)
    assert _Counting.negotiated == 1
