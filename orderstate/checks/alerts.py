"""What the dashboard and `/healthz` show red: problems that a sync has not settled.

`degraded()` gathers every area's alert (add an area's function to SOURCES):
each answers a name and a dict with at least `count`; any count above zero
makes `/healthz` say "degraded".

An oversold symbol (a sell recorded before the buy that covers it) is normal for
the moment it takes the next sync to bring the buy; one still oversold after a
sync finished is a wrong position someone must look at. So is a position the
broker disagrees with (the positions check after each sync).
"""

from dataclasses import dataclass

from django.db.models import Min, Sum

from orderstate.checks import positions
from orderstate.models import Lot, Side, SyncOutcome, SyncRun


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


SOURCES = [oversold_alert, positions.mismatch_alert]


def degraded():
    """{name: details} of every alert source, and whether any of them is raised."""
    alerts = dict(source() for source in SOURCES)
    return alerts, any(details["count"] for details in alerts.values())
