"""Prometheus metrics (`/metrics`) for staff and tokens that may read orders.

A plain Django view, like `/healthz`, so it answers whatever DRF would do.
"""

import math
import threading
from collections import Counter
from dataclasses import dataclass

from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.exceptions import AuthenticationFailed

from orderstate.api.authentication import authenticate_key, key_from_header
from orderstate.api.permissions import can_read
from orderstate.checks.feed_health import feed_health
from orderstate.models import FailedOrder, Order, SyncOutcome, SyncRun, Trade
from orderstate.ops.health import database_unreachable, last_successful_sync_age
from orderstate.states import Status

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
COUNTED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestCounter:
    """Responses by method and status since this process started (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = Counter()

    def add(self, method, status):
        # Unknown methods share one label, so a client cannot grow the series without bound.
        method = method if method in COUNTED_METHODS else "OTHER"
        with self._lock:
            self._counts[(method, status)] += 1

    def snapshot(self):
        with self._lock:
            return dict(self._counts)


REQUESTS = RequestCounter()


def _metrics_denial(request):
    """None when the caller may read metrics: a staff session, or a token that may read orders."""
    try:
        key = key_from_header(request)
        if key is not None:
            user, _ = authenticate_key(key)
            return None if can_read(user) else _denied(403, "This token may not read metrics.")
    except AuthenticationFailed as exc:
        return _denied(401, str(exc.detail))
    if request.user.is_authenticated:
        return None if request.user.is_staff else _denied(403, "Metrics are for staff.")
    return _denied(401, "Authentication credentials were not provided.")


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
        denial = _metrics_denial(request)
        if denial is not None:
            return denial
        body = render_metrics()
    except DatabaseError:
        return database_unreachable()
    return HttpResponse(body, content_type=PROMETHEUS_CONTENT_TYPE)


@dataclass(frozen=True)
class Family:
    """One metric: name, kind (gauge or counter), help text, and (labels, value) samples."""

    name: str
    kind: str
    help: str
    samples: list


def order_families(now):
    by_status = dict(Order.objects.values_list("status").annotate(n=Count("id")).order_by())
    yield Family(
        "orderstate_orders",
        "gauge",
        "Orders by status.",
        [((("status", status),), by_status.get(status, 0)) for status in Status.values],
    )
    yield Family(
        "orderstate_open_trades", "gauge", "Open positions.", [((), Trade.objects.open().count())]
    )
    yield Family(
        "orderstate_failed_orders_waiting",
        "gauge",
        "Failed buys waiting to be retried.",
        [((), FailedOrder.objects.waiting().count())],
    )


def sync_families(now):
    age = last_successful_sync_age(now)
    yield Family(
        "orderstate_last_successful_sync_age_seconds",
        "gauge",
        "Seconds since the last sync that finished ok (NaN: none yet).",
        [((), math.nan if age is None else age)],
    )
    last = (
        SyncRun.objects.exclude(outcome=SyncOutcome.RUNNING).order_by("-started_at", "-id").first()
    )
    yield Family(
        "orderstate_last_sync_outcome",
        "gauge",
        "1 for the outcome of the last finished sync, 0 for the others.",
        [
            ((("outcome", outcome),), int(last is not None and last.outcome == outcome))
            for outcome in (SyncOutcome.OK, SyncOutcome.FAILED, SyncOutcome.SKIPPED)
        ],
    )


def request_families(now):
    yield Family(
        "orderstate_http_requests_total",
        "counter",
        "HTTP responses by method and status, counted by this process since it started.",
        [
            ((("method", method), ("status", str(status))), count)
            for (method, status), count in sorted(REQUESTS.snapshot().items())
        ],
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


# Each source yields the Families of one area; add an area's source here.
SOURCES = [order_families, sync_families, request_families, feed_families]


def render_metrics(now=None):
    now = now or timezone.now()
    lines = []
    for source in SOURCES:
        for family in source(now):
            lines.append(f"# HELP {family.name} {family.help}")
            lines.append(f"# TYPE {family.name} {family.kind}")
            for labels, value in family.samples:
                label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
                sample = f"{{{label_text}}}" if labels else ""
                lines.append(f"{family.name}{sample} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value):
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(round(value, 3))
    return str(value)


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
