"""Staff actions: stop tracking an order, retry or drop a failed buy, ask for a sync.

GET shows what the action will do (a confirmation page that needs no script);
POST, with its CSRF token, calls the manager or the sync and reports the
result as a message. Refused changes (`OrderStateError`) become an error
message on the page they came from, never a 500. "Sync now" is handed to the
running sync process (a request it picks up within a second), never run in the
web worker; the sync page then follows the request to its result.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from dashboard.forms import CancelOrderForm, ConfirmForm
from dashboard.permissions import accounts_of, action_required, sync_required
from dashboard.views.orders import find_order
from orderstate import sync
from orderstate.auth.rules import within
from orderstate.errors import OrderStateError
from orderstate.manager import OrderStateManager
from orderstate.models import EventSource, FailedOrder

SOURCE = EventSource.DASHBOARD


def _manager(request, account):
    return OrderStateManager(source=SOURCE, actor=request.user, account=account)


def _confirm(request, form, context):
    return render(request, "dashboard/confirm.html", {"form": form, **context})


@action_required
def cancel_order(request, broker_order_id):
    order = find_order(request, broker_order_id, request.GET.get("account"))
    detail = reverse("dashboard:order_detail", args=[order.broker_order_id])
    form = CancelOrderForm(request.POST if request.method == "POST" else None)
    context = {
        "title": f"Stop tracking order {order.broker_order_id}",
        "explanation": (
            f"{order.get_side_display()} {order.quantity} {order.symbol} is "
            f"{order.get_status_display().lower()}. It will be marked cancelled and no longer "
            "tracked. This does not cancel it at the broker; if it fills there, the next sync "
            "records the fill."
        ),
        "button": "Stop tracking",
        "back": detail,
        "danger": True,
    }
    if request.method != "POST" or not form.is_valid():
        return _confirm(request, form, context)
    try:
        _manager(request, order.account).cancel_order(
            order.broker_order_id, reason=form.cleaned_data["reason"]
        )
    except OrderStateError as exc:
        messages.error(request, f"Order {order.broker_order_id} was not changed: {exc.detail}")
    else:
        messages.success(request, f"Order {order.broker_order_id} is no longer tracked.")
    return redirect(detail)


@action_required
def retry_failed(request, pk):
    entry = get_object_or_404(within(FailedOrder.objects.all(), accounts_of(request)), pk=pk)
    context = {
        "title": f"Retry the failed buy of {entry.symbol}",
        "explanation": (
            f"The buy of {entry.quantity} {entry.symbol} goes back into the retry queue with a "
            "fresh window until the next market open; the bot places it on its next pass."
        ),
        "button": "Retry",
        "back": reverse("dashboard:failed"),
    }
    return _failed_action(request, entry, context, _requeue, "is back in the retry queue")


@action_required
def drop_failed(request, pk):
    entry = get_object_or_404(within(FailedOrder.objects.all(), accounts_of(request)), pk=pk)
    context = {
        "title": f"Drop the failed buy of {entry.symbol}",
        "explanation": (
            f"The buy of {entry.quantity} {entry.symbol} leaves the retry queue and will not be "
            "placed by the bot."
        ),
        "button": "Drop",
        "back": reverse("dashboard:failed"),
        "danger": True,
    }
    return _failed_action(request, entry, context, _drop, "was dropped from the retry queue")


def _requeue(manager, entry):
    manager.requeue_failed_order(entry.pk)
    return True


def _drop(manager, entry):
    return manager.drop_failed_order(entry.pk)


def _failed_action(request, entry, context, act, done):
    if request.method != "POST":
        return _confirm(request, ConfirmForm(), context)
    try:
        changed = act(_manager(request, entry.account), entry)
    except OrderStateError as exc:
        messages.error(request, f"The failed buy of {entry.symbol} was not changed: {exc.detail}")
    else:
        if changed:
            messages.success(request, f"The failed buy of {entry.symbol} {done}.")
        else:
            messages.warning(
                request, f"The failed buy of {entry.symbol} is not waiting; nothing changed."
            )
    return redirect("dashboard:failed")


@sync_required
def run_sync(request):
    context = {
        "title": "Sync with the broker now",
        "explanation": (
            "Asks the running sync process (sync_broker --loop) to fetch the broker's books "
            "now and apply every difference through the manager. It starts within a second; "
            "the sync page shows it requested, then its result. If another sync is running, "
            "it waits for it."
        ),
        "button": "Sync now",
        "back": reverse("dashboard:sync_runs"),
    }
    if request.method != "POST":
        return _confirm(request, ConfirmForm(), context)
    try:
        run = sync.request_sync(actor=request.user, source=SOURCE)
    except OrderStateError as exc:
        messages.error(request, f"The sync was not requested: {exc.detail}")
        return redirect("dashboard:sync_runs")
    messages.info(request, f"Sync #{run.pk} requested; the sync process runs it within a second.")
    return redirect(f"{reverse('dashboard:sync_runs')}?run={run.pk}")
