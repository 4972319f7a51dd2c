from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import health
from core.http.exception_handler import not_found
from core.http.root import root
from core.observability import metrics

urlpatterns = []
if settings.ADMIN_ENABLED:
    from django.contrib import admin

    urlpatterns.append(path(settings.ADMIN_URL, admin.site.urls))

urlpatterns += [
    path("api/", include("payments.urls")),
    path("api/", include("statements.urls")),
    # Operations: plain Django views, outside DRF, so API authentication never applies to them.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # JSON as application/json first: a browser (Accept: */*) shows it instead of downloading
    # the YAML file. YAML stays one `Accept: application/vnd.oai.openapi` or ?format=yaml away.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(
            renderer_classes=[
                OpenApiJsonRenderer2,
                OpenApiJsonRenderer,
                OpenApiYamlRenderer,
                OpenApiYamlRenderer2,
            ]
        ),
        name="schema",
    ),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", root, name="root"),
    # Last: every other path gets the JSON 404, in DEBUG too (instead of Django's HTML page).
    re_path(r"", not_found),
]

handler400 = "core.http.exception_handler.bad_request"
handler403 = "core.http.exception_handler.permission_denied"
handler404 = "core.http.exception_handler.not_found"
handler500 = "core.http.exception_handler.server_error"
