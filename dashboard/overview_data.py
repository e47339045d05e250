"""The overview's figures, each one query over indexed columns.

Counts are taken over active orders, today's closed orders and open trades
only, never over the whole order table, so they stay cheap with 100,000 rows.
Each takes the accounts the viewer may see (None: every account).
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orderstate.auth.rules import within
from orderstate.market import IST
from orderstate.models import (
    FailedOrder,
    Order,
    OrderEvent,
    Side,
    SyncOutcome,
    SyncRun,
    Trade,
    TradeStatus,
)
from orderstate.states import ACTIVE, Status

WAITING_STATUSES = (Status.PENDING, Status.OPEN)


def start_of_day(now, days_back=0):
    """Midnight IST of today (or `days_back` days before), as an aware datetime."""
    day = timezone.localtime(now, IST).date() - timedelta(days=days_back)
    return datetime.combine(day, time.min, tzinfo=IST)


@dataclass(frozen=True)
class OrderCounts:
    active_sells: int
    pending_buys: int
    partially_filled: int
    active_total: int


def order_counts(accounts=None):
    """Active orders by side and status: one GROUP BY over the status/side index."""
    orders = within(Order.objects.filter(status__in=ACTIVE), accounts)
    rows = orders.values("side", "status").annotate(n=Count("id"))
    sells = pending_buys = partial = total = 0
    for row in rows.order_by():
        total += row["n"]
        if row["side"] == Side.SELL:
            sells += row["n"]
        elif row["status"] in WAITING_STATUSES:
            pending_buys += row["n"]
        if row["status"] == Status.PARTIALLY_FILLED:
            partial += row["n"]
    return OrderCounts(sells, pending_buys, partial, total)


def executions_today(now, accounts=None):
    """Orders executed since midnight IST.

    A filtered count over the closed_at range: a GROUP BY or a status filter
    tempts the planner into walking the status index over every executed order.
    """
    counts = within(Order.objects.filter(closed_at__gte=start_of_day(now)), accounts).aggregate(
        n=Count("id", filter=Q(status=Status.EXECUTED))
    )
    return counts["n"]


def realised_pnl(now, accounts=None):
    """Realised P&L of trades closed today (IST) and of all trades, in one pass."""
    totals = within(Trade.objects.all(), accounts).aggregate(
        total=Sum("realised_pnl"),
        today=Sum(
            "realised_pnl",
            filter=Q(status=TradeStatus.CLOSED, exit_time__gte=start_of_day(now)),
        ),
    )
    return totals["today"] or Decimal(0), totals["total"] or Decimal(0)


@dataclass(frozen=True)
class SyncHealth:
    run: SyncRun | None
    age: timedelta | None
    stale: bool
    reason: str


def sync_health(now, accounts=None):
    """The last sync and whether to show it red, with the reason in words."""
    run = within(SyncRun.objects.all(), accounts).order_by("-started_at", "-id").first()
    limit = settings.ORDERSTATE_SYNC_STALE_SECONDS
    if run is None:
        return SyncHealth(None, None, True, "No sync has run yet.")
    moment = run.finished_at or run.started_at
    age = now - moment
    if run.outcome == SyncOutcome.FAILED:
        return SyncHealth(run, age, True, f"The last sync failed: {run.error or 'no detail'}")
    if age.total_seconds() > limit:
        minutes = limit // 60
        return SyncHealth(
            run, age, True, f"The last sync is older than {minutes} minutes ({limit} s)."
        )
    return SyncHealth(run, age, False, "")


def latest_events(accounts=None, limit=10):
    events = within(OrderEvent.objects.all(), accounts, "order__account")
    return list(events.select_related("order", "actor").order_by("-at", "-id")[:limit])


def pnl_by_day(now, days=30, accounts=None):
    """Realised P&L of trades closed on each of the last `days` IST days, oldest first.

    Grouped in the database: a few dozen rows come back however many trades closed.
    """
    since = start_of_day(now, days - 1)
    rows = (
        # Only a closed trade has an exit time; filtering on it alone uses its index.
        within(Trade.objects.filter(exit_time__gte=since), accounts)
        .annotate(day=TruncDate("exit_time", tzinfo=IST))
        .values("day")
        .annotate(total=Sum("realised_pnl"))
        .order_by("day")
    )
    by_day = {row["day"]: row["total"] or Decimal(0) for row in rows}
    first = since.date()
    days_shown = [first + timedelta(days=offset) for offset in range(days)]
    return [(day, by_day.get(day, Decimal(0))) for day in days_shown]


def orders_by_status(now, days=30, accounts=None):
    """Orders placed in the last `days` IST days, counted by status, in workflow order.

    Conditional counts rather than GROUP BY: grouping tempts the planner into
    scanning the status index over every order instead of the placed_at range.
    """
    since = start_of_day(now, days - 1)
    counts = within(Order.objects.filter(placed_at__gte=since), accounts).aggregate(
        **{status.value: Count("id", filter=Q(status=status)) for status in Status}
    )
    return [(status.label, counts[status.value]) for status in Status]


def failed_waiting(accounts=None):
    return within(FailedOrder.objects.waiting(), accounts).count()


def open_positions(accounts=None):
    return within(Trade.objects.open(), accounts).count()
