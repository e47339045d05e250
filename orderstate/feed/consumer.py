"""Frames applied one by one: each order update in its own transaction, every frame counted.

Nothing a frame holds can stop the stream. A frame that cannot be read, a type
we do not apply (positions, control frames, anything new), or an update the
actions refuse is counted and logged; the action's transaction leaves the
order whole or untouched.

Frames can arrive twice (the server pushes the current state again after a
reconnect) and out of order. Both are safe: the broker rule never lowers a
filled quantity nor moves a status back, and an order frame older than the
newest one applied for its order (the broker's `updRecvTm`) is stale and
skipped, so an old frame cannot undo a quantity the trader changed since.
"""

import logging
import time
from collections import Counter, OrderedDict

from django.db import InterfaceError, OperationalError
from django.utils import timezone

from orderstate.actions.broker_feed import AWAITING_PRICE, EXTERNAL, apply_feed_order
from orderstate.feed.frames import Kind, read_frame

log = logging.getLogger(__name__)

# Every outcome a frame can have, in the order a summary lists them.
OUTCOMES = (
    "applied",  # an order changed
    "unchanged",  # nothing to change: a duplicate, or news the order already had
    "external",  # an order placed outside the bot, recorded as the sync records it
    "unknown_status",  # a status text we do not know: the order stays as it is, text noted
    "awaiting_price",  # more filled without a price: held until a frame or a sync brings it
    "stale",  # older than the newest frame applied for its order
    "skipped",  # an order the book's parser leaves out (another segment)
    "position",  # position updates are not applied
    "control",  # the connection acknowledgement
    "refused",  # the server refused the session (a control frame without "ok")
    "other",  # a type we do not know
    "bad",  # unreadable
    "failed",  # the actions refused it or the database failed; nothing was written
)
REMEMBERED_ORDERS = 10_000
LOUD_REPEATS = 20  # log each of the first frames of a bad outcome, then every 1,000th


class FrameConsumer:
    """Reads and applies frames for one context (source, account); `counts` by outcome."""

    def __init__(self, ctx, *, clock=time.monotonic):
        self.ctx = ctx
        self.clock = clock
        self.counts = Counter()
        self.last_frame_at = None
        self.database_failed = False  # the last failure was the database's, not the frame's
        self.newest = OrderedDict()  # order id -> newest `updRecvTm` applied
        self.awaiting = {}  # order id -> when its fill was first held for want of a price

    def handle(self, raw):
        """Read and apply one raw frame; returns (Frame, outcome)."""
        self.last_frame_at = timezone.now()
        frame = read_frame(raw)
        outcome = self._apply(frame) if frame.kind == Kind.ORDER else _not_applied(frame)
        self.counts[outcome] += 1
        self._log(frame, outcome)
        return frame, outcome

    def remember_book(self, book):
        """A full sync applied `book`: frames older than its rows are stale, held fills settled."""
        for broker_order in book:
            received = broker_order.raw.get("updRecvTm") if broker_order.raw else None
            if isinstance(received, int) and not isinstance(received, bool):
                self._remember(broker_order.order_id, received)
        self.awaiting.clear()

    def awaiting_since(self):
        """When the oldest fill still held for want of a price was held (clock), or None."""
        return min(self.awaiting.values(), default=None)

    @property
    def total(self):
        return sum(self.counts.values())

    def _apply(self, frame):
        order_id = frame.order_id
        newest = self.newest.get(order_id)
        if newest is not None and frame.received_ns is not None and frame.received_ns < newest:
            return "stale"
        try:
            _, changes = apply_feed_order(self.ctx, frame.order)
        except Exception as exc:
            self.database_failed = isinstance(exc, OperationalError | InterfaceError)
            log.warning("feed: order %s not applied: %s", order_id, exc, exc_info=exc)
            return "failed"
        self.database_failed = False
        if AWAITING_PRICE in changes:
            self.awaiting.setdefault(order_id, self.clock())
            return "awaiting_price"
        self.awaiting.pop(order_id, None)
        if frame.received_ns is not None:
            self._remember(order_id, frame.received_ns)
        if EXTERNAL in changes:
            return "external"
        if changes == ["unknown_status"]:
            return "unknown_status"
        return "applied" if changes else "unchanged"

    def _remember(self, order_id, received_ns):
        if received_ns >= self.newest.get(order_id, received_ns):
            self.newest[order_id] = received_ns
        self.newest.move_to_end(order_id)
        while len(self.newest) > REMEMBERED_ORDERS:
            self.newest.popitem(last=False)

    def _log(self, frame, outcome):
        if outcome in ("bad", "refused", "skipped", "other"):
            seen = self.counts[outcome]
            if seen <= LOUD_REPEATS or seen % 1000 == 0:
                detail = f": {frame.problem}" if frame.problem else ""
                log.warning("feed: %s frame (%d so far)%s", outcome, seen, detail)
        else:
            log.debug("feed: %s frame %s", outcome, frame.order_id or frame.kind)


def _not_applied(frame):
    if frame.kind == Kind.CONTROL:
        return "control" if frame.accepted else "refused"
    return {
        Kind.SKIPPED: "skipped",
        Kind.POSITION: "position",
        Kind.OTHER: "other",
        Kind.BAD: "bad",
    }[frame.kind]
