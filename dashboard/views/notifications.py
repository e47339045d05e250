"""Notifications: each subscription's last delivery, failures, backlog and dead letters,
and a staff-only "send test" that goes the whole way (event, outbox, deliverer).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from dashboard.forms import ConfirmForm
from dashboard.permissions import login_required_page
from dashboard.rendering import render_page
from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.errors import OrderStateError
from orderstate.models import EventSource, OutboxMessage, Subscription
from orderstate.notify import subscriptions


@login_required_page
def notification_list(request):
    now = timezone.now()
    backlog = OutboxMessage.objects.backlog()
    oldest = backlog["oldest"]
    context = {
        "rows": subscriptions.overview(),
        "dead": subscriptions.dead_letters(),
        "backlog": backlog["count"],
        "oldest_age": now - oldest if oldest else None,
        "backlog_late": bool(oldest)
        and (now - oldest).total_seconds() > settings.ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS,
        "can_test": request.user.is_staff,
        "now": now,
    }
    return render_page(
        request, "dashboard/notifications.html", "dashboard/_notifications_live.html", context
    )


@login_required_page
def send_test(request, pk):
    if not request.user.is_staff:
        raise PermissionDenied("Only staff may send test notifications.")
    subscription = get_object_or_404(Subscription, pk=pk)
    if request.method != "POST":
        context = {
            "form": ConfirmForm(),
            "title": f"Send a test to {subscription.name}",
            "explanation": (
                f"A test message goes to {subscription.target} through the outbox, as real "
                "notifications do; the deliverer sends it within seconds and its result shows "
                "on the Notifications page."
            ),
            "button": "Send test",
            "back": reverse("dashboard:notifications"),
        }
        return render(request, "dashboard/confirm.html", context)
    ctx = Context.of(EventSource.DASHBOARD, request.user)
    try:
        notifications.send_test(ctx, subscription.pk)
    except OrderStateError as exc:
        messages.error(request, f"No test sent: {exc.detail}")
    else:
        messages.success(request, f"Test queued for {subscription.name}.")
    return redirect("dashboard:notifications")
