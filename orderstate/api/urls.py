"""Routes under /api/: version 1 of the API, its OpenAPI schema and docs, JSON 404s."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from orderstate.api import event_views, sync_views, trade_views, views
from orderstate.api.exceptions import not_found

# The trailing slash is optional, so `/orders` and `/orders/` both answer (no redirect
# that would turn a POST into a GET).
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("orders", views.OrderViewSet, basename="order")
router.register("trades", trade_views.TradeViewSet, basename="trade")
router.register("failed-orders", trade_views.FailedOrderViewSet, basename="failed-order")
router.register("sync-runs", sync_views.SyncRunViewSet, basename="sync-run")

v1 = [
    *router.urls,
    re_path(
        r"^active-sell-orders/?$", views.ActiveSellOrdersView.as_view(), name="active-sell-orders"
    ),
    re_path(r"^sync/?$", sync_views.SyncView.as_view(), name="sync"),
    re_path(r"^events/?$", event_views.EventFeedView.as_view(), name="events"),
]

swagger_ui = SpectacularSwaggerSplitView.as_view(url_name="api-schema")
SWAGGER_UI_CSP = csp_replace({"style-src": [SELF, UNSAFE_INLINE], "form-action": None})

urlpatterns = [
    path("v1/", include((v1, "api"))),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from our origin, so the
    # page needs no inline script under the site's Content-Security-Policy; Swagger UI
    # sets inline styles, which only this page allows.
    path("docs/", SWAGGER_UI_CSP(swagger_ui), name="api-docs"),
    re_path(r"", not_found),
]
