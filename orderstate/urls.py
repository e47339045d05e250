from django.contrib import admin
from django.urls import include, path

from orderstate.ops import health, metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("orderstate.api.urls")),
    path("", include("dashboard.urls")),
]

handler400 = "orderstate.api.exceptions.bad_request"
handler500 = "orderstate.api.exceptions.server_error"
