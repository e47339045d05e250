"""How each broker account's order feed is doing, read from its FeedStatus row.

The dashboard's header, `/metrics` and the "feed down" alert read it; the
stream that holds the feed writes the row (`feed.status`). A feed is live while
its stream is running, connected, and has written its row within
ORDERSTATE_FEED_STALE_SECONDS; otherwise the state comes from polling alone.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from orderstate.models import FeedStatus


@dataclass(frozen=True)
class FeedHealth:
    """One feed as the dashboard, /metrics and the alerts read it."""

    broker: str
    account: str
    live: bool  # running, connected and heard from within the stale limit
    last_frame_age: float | None  # seconds
    down_for: float | None  # seconds the feed has been down while meant to run, or None
    reconnects: int
    frames: dict
    last_error: str  # why the last connection ended


def feed_health(now=None):
    """Every feed that ever ran, as FeedHealth, most recently heard from first."""
    now = now or timezone.now()
    limit = settings.ORDERSTATE_FEED_STALE_SECONDS
    health = []
    for row in FeedStatus.objects.order_by("-updated_at", "pk"):
        # Running, but its stream has not written for longer than the limit: gone.
        stale = row.running and _age(now, row.updated_at) > limit
        health.append(
            FeedHealth(
                broker=row.broker,
                account=row.account,
                live=row.running and row.connected and not stale,
                last_frame_age=_age(now, row.last_frame_at),
                down_for=_down_for(row, now, stale),
                reconnects=row.reconnects,
                frames=dict(row.frames or {}),
                last_error=row.last_error,
            )
        )
    return health


def _age(now, moment):
    return None if moment is None else max(0.0, (now - moment).total_seconds())


def _down_for(row, now, stale):
    """How long a feed meant to run has been down: its stream silent, or not connected."""
    if not row.running:
        return None
    if stale:
        return _age(now, row.updated_at)
    if not row.connected:
        return _age(now, row.disconnected_at or row.started_at or row.updated_at)
    return None
