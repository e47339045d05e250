from django.contrib import admin
from django.urls import include, path

from orderstate.auth.login_guard import GuardedAdminAuthenticationForm, GuardedLoginView
from orderstate.ops import health, metrics

admin.site.login_form = GuardedAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/login/", GuardedLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("orderstate.api.urls")),
    path("", include("dashboard.urls")),
]

handler400 = "orderstate.api.exceptions.bad_request"
handler500 = "orderstate.api.exceptions.server_error"
