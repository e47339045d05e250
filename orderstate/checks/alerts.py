"""What the dashboard and `/healthz` show red: problems that a sync has not settled.

`degraded()` gathers every area's alert (add an area's function to SOURCES):
each answers a name and a dict with at least `count`; any count above zero
makes `/healthz` say "degraded".

Notifications waiting longer than their threshold mean a receiver is down or no
deliverer runs. An order feed that went down while meant to run (`feed_down`) is the other alert:
its stream died or lost the connection, and the state now comes from polling only.

An oversold symbol (a sell recorded before the buy that covers it) is normal for
the moment it takes the next sync to bring the buy; one still oversold after a
sync finished is a wrong position someone must look at. So is a position the
broker disagrees with (the positions check after each sync).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.utils import timezone

from orderstate.checks import positions
from orderstate.checks.feed_health import feed_health
from orderstate.models import Lot, OutboxMessage, Side, SyncOutcome, SyncRun


@dataclass(frozen=True)
class Oversold:
    account: str
    symbol: str
    quantity: int
    since: object  # when the oldest unmatched sell was recorded


def oversold_after_sync():
    """Symbols oversold since before the last sync that finished ok, oldest first."""
    last_ok = (
        SyncRun.objects.filter(outcome=SyncOutcome.OK, dry_run=False)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if last_ok is None:
        return []
    rows = (
        Lot.objects.filter(side=Side.SELL, open_quantity__gt=0, recorded_at__lt=last_ok)
        .values("account", "symbol")
        .annotate(quantity=Sum("open_quantity"), since=Min("recorded_at"))
        .order_by("since")
    )
    return [Oversold(**row) for row in rows]


def oversold_alert():
    rows = oversold_after_sync()
    return "oversold", {
        "count": len(rows),
        "symbols": [f"{row.symbol} ({row.account})" for row in rows],
    }


def notify_backlog_alert(now=None):
    """Notifications undelivered for longer than ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS: a
    receiver down, or no deliverer running."""
    now = now or timezone.now()
    limit = timedelta(seconds=settings.ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS)
    late = OutboxMessage.objects.pending().filter(
        subscription__active=True, created_at__lt=now - limit
    )
    figures = late.aggregate(count=Count("id"), oldest=Min("created_at"))
    oldest = figures["oldest"]
    return "notify_backlog", {
        "count": figures["count"],
        "oldest_age_seconds": None if oldest is None else round((now - oldest).total_seconds()),
    }


def feed_down_alert():
    """Order feeds meant to run (a stream took them and did not stop cleanly) that are down:
    the stream silent for longer than ORDERSTATE_FEED_STALE_SECONDS, or not connected for
    that long. A feed never started, or stopped on purpose, is no alert: polling goes on."""
    limit = settings.ORDERSTATE_FEED_STALE_SECONDS
    down = [feed for feed in feed_health() if feed.down_for is not None and feed.down_for > limit]
    return "feed_down", {
        "count": len(down),
        "feeds": [
            f"{feed.broker} ({feed.account}) for {feed.down_for:.0f} s"
            + (f": {feed.last_error}" if feed.last_error else "")
            for feed in down
        ],
    }


SOURCES = [oversold_alert, positions.mismatch_alert, notify_backlog_alert, feed_down_alert]


def degraded():
    """{name: details} of every alert source, and whether any of them is raised."""
    alerts = dict(source() for source in SOURCES)
    return alerts, any(details["count"] for details in alerts.values())
