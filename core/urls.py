from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import health, metrics
from core.exceptions import not_found

urlpatterns = []
if settings.ADMIN_ENABLED:
    from django.contrib import admin

    urlpatterns.append(path(settings.ADMIN_URL, admin.site.urls))

urlpatterns += [
    path("api/", include("payments.urls")),
    # Operations: plain Django views, outside DRF, so API authentication never applies to them.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Last: every other path gets the JSON 404, in DEBUG too (instead of Django's HTML page).
    re_path(r"", not_found),
]

handler400 = "core.exceptions.bad_request"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
