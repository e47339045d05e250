"""Prometheus metrics (`/metrics`) for staff sessions and tokens that may read orders.

A plain Django view, like `/healthz`, so it answers whatever DRF would do. Figures
are read from the database when scraped, so every gunicorn worker reports the same.

Each area adds a source to SOURCES: a function `(now)` or `(now, accounts)` yielding
`Family`s. A caller limited to some accounts (a scoped token, a user with account
grants) gets only the sources that take `accounts`, counted over those accounts;
a source that cannot narrow its figures is left out rather than show other
accounts' counts.
"""

import functools
import inspect
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from orderstate.api.authentication import authenticate_key, key_from_header
from orderstate.auth.rules import may_read_orders, visible_accounts, within
from orderstate.checks import positions
from orderstate.checks.feed_health import feed_health
from orderstate.event_feed.listener import listener
from orderstate.models import (
    Delivery,
    FailedOrder,
    Order,
    OutboxMessage,
    SyncOutcome,
    SyncRun,
    Trade,
)
from orderstate.ops.health import database_unreachable
from orderstate.ops.prometheus import CONTENT_TYPE, exposition
from orderstate.states import Status


def _caller(request):
    """(accounts the caller may see, None) or (None, a refusal): a staff session, or a
    token that may read orders."""
    try:
        key = key_from_header(request)
        if key is not None:
            user, token = authenticate_key(key)
            if not may_read_orders(user):
                return None, _denied(403, "This token may not read metrics.")
            return visible_accounts(user, token), None
    except AuthenticationFailed as exc:
        return None, _denied(401, str(exc.detail))
    user = request.user
    if not user.is_authenticated:
        return None, _denied(401, "Authentication credentials were not provided.")
    if not (user.is_staff and may_read_orders(user)):
        return None, _denied(403, "Metrics are for staff.")
    return visible_accounts(user), None


def _denied(status, detail):
    code = "not_authenticated" if status == 401 else "permission_denied"
    response = JsonResponse({"code": code, "detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Token"
    return response


@never_cache
@require_GET
def metrics(request):
    try:
        accounts, denial = _caller(request)
        if denial is not None:
            return denial
        body = render_metrics(accounts=accounts)
    except DatabaseError:
        return database_unreachable()
    return HttpResponse(body, content_type=CONTENT_TYPE)


@dataclass(frozen=True)
class Family:
    """One metric: name, kind (gauge or counter), help text, and (labels, value) samples."""

    name: str
    kind: str
    help: str
    samples: list


def order_families(now, accounts=None):
    orders = within(Order.objects.all(), accounts)
    by_status = dict(orders.values_list("status").annotate(n=Count("id")).order_by())
    yield Family(
        "orderstate_orders",
        "gauge",
        "Orders by status.",
        [((("status", status),), by_status.get(status, 0)) for status in Status.values],
    )
    yield Family(
        "orderstate_open_trades",
        "gauge",
        "Open positions.",
        [((), within(Trade.objects.open(), accounts).count())],
    )
    yield Family(
        "orderstate_failed_orders_waiting",
        "gauge",
        "Failed buys waiting to be retried.",
        [((), within(FailedOrder.objects.waiting(), accounts).count())],
    )


def sync_families(now, accounts=None):
    runs = within(SyncRun.objects.all(), accounts)
    finished = (
        runs.filter(outcome=SyncOutcome.OK, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    age = math.nan if finished is None else max(0.0, (now - finished).total_seconds())
    yield Family(
        "orderstate_last_successful_sync_age_seconds",
        "gauge",
        "Seconds since the last sync that finished ok (NaN: none yet).",
        [((), round(age, 3))],
    )
    last = runs.exclude(outcome=SyncOutcome.RUNNING).order_by("-started_at", "-id").first()
    yield Family(
        "orderstate_last_sync_outcome",
        "gauge",
        "1 for the outcome of the last finished sync, 0 for the others.",
        [
            ((("outcome", outcome),), int(last is not None and last.outcome == outcome))
            for outcome in (SyncOutcome.OK, SyncOutcome.FAILED, SyncOutcome.SKIPPED)
        ],
    )


def position_families(now):
    yield Family(
        "orderstate_position_mismatches",
        "gauge",
        "Symbols whose quantity at the broker disagrees with orderstate's (latest check).",
        [((), len(positions.latest_mismatches()))],
    )


def outbox_families(now):
    backlog = OutboxMessage.objects.backlog()
    oldest = backlog["oldest"]
    yield Family(
        "orderstate_notify_backlog",
        "gauge",
        "Notifications not yet delivered, for active subscriptions.",
        [((), backlog["count"])],
    )
    yield Family(
        "orderstate_notify_oldest_undelivered_age_seconds",
        "gauge",
        "Age of the oldest notification not yet delivered (0: none waiting).",
        [((), 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))],
    )
    yield Family(
        "orderstate_notify_dead",
        "gauge",
        "Notifications given up after the maximum age, still kept.",
        [((), OutboxMessage.objects.filter(status=Delivery.DEAD).count())],
    )


def feed_families(now):
    """The order feed of each broker account, as its stream last wrote it (any process)."""
    feeds = feed_health(now)

    def samples(value_of):
        return [((("broker", f.broker), ("account", f.account)), value_of(f)) for f in feeds]

    yield Family(
        "orderstate_feed_connected",
        "gauge",
        "1 while the order feed is live (its stream connected and recently heard from).",
        samples(lambda feed: int(feed.live)),
    )
    yield Family(
        "orderstate_feed_last_frame_age_seconds",
        "gauge",
        "Seconds since the order feed's last frame (NaN: none yet).",
        samples(lambda feed: math.nan if feed.last_frame_age is None else feed.last_frame_age),
    )
    yield Family(
        "orderstate_feed_reconnects_total",
        "counter",
        "Connections to the order feed after the first, over every stream that held it.",
        samples(lambda feed: feed.reconnects),
    )
    yield Family(
        "orderstate_feed_frames_total",
        "counter",
        "Order-feed frames by outcome (applied, unchanged, external, bad, ...).",
        [
            ((("broker", feed.broker), ("account", feed.account), ("outcome", outcome)), count)
            for feed in feeds
            for outcome, count in sorted(feed.frames.items())
        ],
    )


def event_feed_families(now):
    yield Family(
        "orderstate_event_waiters",
        "gauge",
        "Long polls of the event feed waiting in this process now.",
        [((), listener.waiters)],
    )
    yield Family(
        "orderstate_event_waiters_limit",
        "gauge",
        "Long polls this process lets wait at once (ORDERSTATE_EVENT_WAITERS).",
        [((), settings.ORDERSTATE_EVENT_WAITERS)],
    )


# Each source yields the Families of one area; add an area's source here.
SOURCES = [
    order_families,
    sync_families,
    position_families,
    outbox_families,
    feed_families,
    event_feed_families,
]


@functools.cache
def _counts_per_account(source):
    return "accounts" in inspect.signature(source).parameters


def families(now, accounts=None):
    """Every source's Families, as the caller limited to `accounts` (None: all) may see them."""
    for source in SOURCES:
        if accounts is None:
            yield from source(now)
        elif _counts_per_account(source):
            yield from source(now, accounts=accounts)


def render_metrics(now=None, accounts=None):
    """The Prometheus text; the request counter only for callers who see every account."""
    now = now or timezone.now()
    return exposition(lambda: families(now, accounts), with_requests=accounts is None)
