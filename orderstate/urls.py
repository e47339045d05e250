from django.contrib import admin
from django.urls import include, path

from orderstate.login_guard import GuardedAdminAuthenticationForm, GuardedLoginView

admin.site.login_form = GuardedAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", GuardedLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.urls")),
]
