"""core.http.fastpath: its copies of Django, DRF and adrf code match the installed originals, and a
signed webhook delivery through the production ASGI stack never hands work to a thread."""

import difflib
import inspect
import textwrap
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.urls import get_resolver, path
from rest_framework.response import Response

from core.http.fastpath import handler, middleware, parsers, serializers, views
from testsupport.api import WEBHOOK
from testsupport.dotted import dotted_resolve

# --- (a) drift: each copy's upstream original is still the one it was copied from --------------

# The upstream source each copy was taken from, verbatim (inspect.getsource, dedented).
UPSTREAM_DIR = Path(__file__).parent / "fastpath_upstream"
COPIES = [
    (module, path, copied_from)
    for module in (handler, views, middleware, parsers, serializers)
    for path, copied_from in module.UPSTREAM.items()
]


@pytest.mark.parametrize(("module", "path", "copied_from"), COPIES, ids=[c[1] for c in COPIES])
def test_upstream_code_copied_into_fastpath_is_unchanged(module, path, copied_from):
    copied = (UPSTREAM_DIR / f"{path}.txt").read_text()
    original = dotted_resolve(path)
    original = getattr(original, "fget", original)  # a property's getter
    installed = textwrap.dedent(inspect.getsource(original))
    top = path.split(".")[0]
    distribution = packages_distributions().get(top, [top])[0]  # rest_framework: DRF's
    diff = "".join(
        difflib.unified_diff(
            copied.splitlines(keepends=True),
            installed.splitlines(keepends=True),
            f"{copied_from} (copied)",
            f"{distribution} {version(distribution)} (installed)",
        )
    )
    assert installed == copied, (
        f"{path} differs from the {copied_from} original that {module.__name__} copies.\n"
        f"Re-check the copy in {module.__file__}: port the upstream change into it (or delete "
        "the copy if upstream made it unnecessary, see its docstring), then store the installed "
        f"source in {UPSTREAM_DIR.name}/{path}.txt and update UPSTREAM's version.\n{diff}"
    )


# --- (b) zero thread hops for a signed webhook delivery --------------------------------------


ADMIN_ONLY_LAYERS = [
    middleware.AdminSessionMiddleware,
    middleware.AdminCsrfViewMiddleware,
    middleware.AdminAuthenticationMiddleware,
    middleware.AdminMessageMiddleware,
    middleware.AdminTimeZoneMiddleware,
    middleware.AdminAxesMiddleware,
]


@pytest.mark.parametrize("layer_class", ADMIN_ONLY_LAYERS, ids=lambda c: c.__name__)
async def test_an_admin_only_layer_hands_an_api_request_on_without_a_coroutine_of_its_own(
    layer_class, rf
):
    """Every API request passes the six admin-only layers, so stepping aside must cost one
    call: the layer returns the next layer's awaitable itself (docs/performance.md counts it)."""
    seen = []

    async def get_response(request):
        seen.append(request.path)
        return "the next layer's answer"

    layer = layer_class(get_response)
    api_request = rf.post(WEBHOOK)
    awaitable = layer(api_request)
    assert awaitable.cr_code is get_response.__code__, (
        f"{layer_class.__name__} wrapped an API request in a coroutine of its own"
    )
    assert await awaitable == "the next layer's answer"
    assert seen == [WEBHOOK]


async def test_an_admin_only_layer_still_runs_for_the_admin(rf):
    """The same layers do their work on admin paths: the session layer gives the request its
    session there, and only there."""

    async def get_response(request):
        return HttpResponse()

    layer = middleware.AdminSessionMiddleware(get_response)
    admin_request = rf.get("/admin/")
    await layer(admin_request)
    assert hasattr(admin_request, "session")
    api_request = rf.get("/api/organizations/")
    await layer(api_request)
    assert not hasattr(api_request, "session")


# --- (c) APIView.rendered answers exactly as DRF's Response would -----------------------------


class _Answer(views.APIView):
    permission_classes = []
    rendered_directly = True

    async def post(self, request):
        data = {"operation_id": "00000000-0000-4000-8000-000000000001", "status": "crédité"}
        if self.rendered_directly:
            return self.rendered(data, status=201)
        return Response(data, status=201)


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/json; indent=4", "text/html", "x/y"],
)
async def test_a_view_rendered_directly_answers_as_drf_response_does(accept, rf):
    """Body, status, headers and their order, for every Accept (a 406 included)."""
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    async def answer(directly: bool) -> HttpResponse:
        view = type("View", (_Answer,), {"rendered_directly": directly}).as_view()
        return await view(rf.post(WEBHOOK, data=b"{}", content_type="application/json", **headers))

    direct, drf = await answer(True), await answer(False)

    assert (direct.status_code, direct.content) == (drf.status_code, drf.content)
    assert list(direct.items()) == list(drf.items())
    assert type(direct) is HttpResponse


# --- (d) the handler keeps the URL matches of fixed paths, per resolver ------------------------


def _other_view(request):
    return HttpResponse("other")


urlpatterns = [path("api/webhook/bank/", _other_view, name="other")]


def test_the_handler_reuses_a_fixed_paths_match_and_nothing_a_client_made_up(rf):
    resolve = handler.ASGIHandler().resolve_request
    first, second = resolve(rf.post(WEBHOOK)), resolve(rf.post(WEBHOOK))
    assert first is second and first.url_name == "webhook-bank"
    with pytest.raises(TypeError):  # what process_view is handed cannot carry to the next
        first.kwargs["left"] = "behind"

    balance = "/api/organizations/7707083893/balance/"
    assert resolve(rf.get(balance)) is not resolve(rf.get(balance))  # it has arguments
    made_up = "/api/no-such-thing/"
    assert resolve(rf.get(made_up)).url_name is None  # Django's catch-all, not kept
    assert made_up not in handler._matches[get_resolver()]


def test_a_new_urlconf_is_resolved_afresh(rf, settings):
    """Django replaces the resolver when ROOT_URLCONF changes (or clear_url_caches runs): the
    matches kept for the old one are not used."""
    resolve = handler.ASGIHandler().resolve_request
    assert resolve(rf.post(WEBHOOK)).url_name == "webhook-bank"
    settings.ROOT_URLCONF = __name__
    assert resolve(rf.post(WEBHOOK)).func is _other_view


def _late_receiver(sender, **kwargs):
    """Connected after the handler has looked at the signal's receivers."""


def test_a_receiver_connected_or_disconnected_later_is_seen():
    from django.core import signals

    sender = handler.ASGIHandler
    assert handler.receivers_not_inline(signals.request_finished, sender) == []
    signals.request_finished.connect(_late_receiver)
    try:
        named = handler.receivers_not_inline(signals.request_finished, sender)
    finally:
        signals.request_finished.disconnect(_late_receiver)
    assert named == [f"{__name__}._late_receiver"]
    assert handler.receivers_not_inline(signals.request_finished, sender) == []
