"""Failed buys, trades and sync runs: paginated lists with a few filters each."""

from django.db.models import BigIntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from dashboard.paging import paginate
from dashboard.permissions import accounts_of, login_required_page
from dashboard.rendering import render_page
from orderstate.actions import failed_orders
from orderstate.auth.rules import within
from orderstate.models import (
    EventKind,
    FailedOrder,
    FailedOrderStatus,
    OrderEvent,
    SyncRun,
    Trade,
    TradeStatus,
)

FAILED_VIEWS = {"waiting": "Waiting", "all": "All"}
TRADE_VIEWS = {"open": "Open", "closed": "Closed", "all": "All"}


def _choice(request, name, options, default):
    value = request.GET.get(name, default)
    return value if value in options else default


@login_required_page
def failed_list(request):
    show = _choice(request, "show", FAILED_VIEWS, "waiting")
    accounts = accounts_of(request)
    entries = within(FailedOrder.objects.all(), accounts).order_by("-first_failed_at", "-id")
    if show == "waiting":
        entries = entries.filter(status=FailedOrderStatus.WAITING)
    page = paginate(entries, request)
    now = timezone.now()
    rows = [
        {
            "entry": entry,
            "expires_at": failed_orders.expires_at(entry),
            "valid": entry.status == FailedOrderStatus.WAITING
            and failed_orders.is_valid(entry, now),
        }
        for entry in page.rows
    ]
    events = OrderEvent.objects.filter(kind=EventKind.FAILED_ORDER)
    if accounts is not None:
        # Failed-buy events name their entry, not an order.
        visible = within(FailedOrder.objects.all(), accounts).values("pk")
        entry = Cast(KeyTextTransform("failed_order_id", "data"), BigIntegerField())
        events = events.annotate(entry=entry).filter(entry__in=visible)
    events = events.select_related("actor").order_by("-at", "-id")[:10]
    context = {
        "page": page,
        "rows": rows,
        "show": show,
        "views": FAILED_VIEWS.items(),
        "events": list(events),
    }
    return render_page(request, "dashboard/failed.html", "dashboard/_failed_live.html", context)


@login_required_page
def trade_list(request):
    show = _choice(request, "show", TRADE_VIEWS, "open")
    trades = within(Trade.objects.all(), accounts_of(request))
    trades = trades.select_related("entry_order", "exit_order")
    if show == "open":
        trades = trades.filter(status=TradeStatus.OPEN).order_by("-entry_time", "-id")
    elif show == "closed":
        # Only a closed trade has an exit time; this walks the exit_time index
        # newest first instead of sorting every closed trade.
        trades = trades.filter(exit_time__isnull=False).order_by("-exit_time", "-id")
    else:
        trades = trades.order_by("-entry_time", "-id")
    page = paginate(trades, request)
    now = timezone.now()
    rows = [
        {"trade": trade, "held": (trade.exit_time or now) - trade.entry_time} for trade in page.rows
    ]
    context = {"page": page, "rows": rows, "show": show, "views": TRADE_VIEWS.items()}
    return render_page(request, "dashboard/trades.html", "dashboard/_trades_live.html", context)


@login_required_page
def sync_list(request):
    runs = within(SyncRun.objects.all(), accounts_of(request))
    page = paginate(runs.order_by("-started_at", "-id"), request)
    # "Sync now" comes back here with its request, followed to its result as the page refreshes.
    run_id = request.GET.get("run", "")
    followed = runs.filter(pk=run_id).first() if run_id.isdigit() else None
    context = {"page": page, "followed": followed}
    return render_page(request, "dashboard/sync_runs.html", "dashboard/_sync_live.html", context)
