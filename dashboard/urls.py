from django.urls import path

from dashboard.views import actions, lists, notifications, orders, overview

app_name = "dashboard"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/<str:broker_order_id>/", orders.order_detail, name="order_detail"),
    path("orders/<str:broker_order_id>/cancel/", actions.cancel_order, name="order_cancel"),
    path("failed/", lists.failed_list, name="failed"),
    path("failed/<int:pk>/retry/", actions.retry_failed, name="failed_retry"),
    path("failed/<int:pk>/drop/", actions.drop_failed, name="failed_drop"),
    path("trades/", lists.trade_list, name="trades"),
    path("sync/", lists.sync_list, name="sync_runs"),
    path("sync/run/", actions.run_sync, name="sync_run"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/<int:pk>/test/", notifications.send_test, name="notification_test"),
]
