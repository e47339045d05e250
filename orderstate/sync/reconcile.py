"""One pass over a fetched order book: compare it with local orders, apply the differences.

Local active orders are loaded in one query, and the book's other ids in one
more (to find late fills of orders we closed, and to tell external orders from
known ones). What each row asks of its order is the broker rule's answer
(`actions.broker_rule`), so a dry run counts exactly what a real run applies.
Orders that match the book are stamped in bulk; the differences go through the
broker actions in batches of ORDERSTATE_SYNC_BATCH_SIZE orders, one transaction
each, so a failure of one order leaves it untouched and the others applied,
and a crash leaves every order of the open batch untouched.
"""

import logging

from django.conf import settings

from orderstate.actions import broker
from orderstate.actions.broker_rule import BrokerReport, broker_target
from orderstate.errors import ValidationError
from orderstate.models import FailedOrder, Order, Side, Trade
from orderstate.states import ACTIVE

log = logging.getLogger(__name__)

STAT_KEYS = (
    "checked",
    "executed",
    "partially_filled",
    "rejected",
    "cancelled",
    "price_updated",
    "missing",
    "manual_sells",
    "manual_buys",
    "external",
    "unknown_status",
    "errors",
)
# Further counts: "opened" (PENDING seen OPEN), "late_fills", "flagged" (missing
# at or past the threshold), "quantity_changed" (the broker's quantity followed),
# "exact_fills" (orders whose trade-book fills were recorded), "skipped_segments"
# (rows of segments other than cash equities), "unmatched_fills" (trade-book fills
# of orders the order book does not show).
EXTRA_KEYS = (
    "opened",
    "late_fills",
    "flagged",
    "quantity_changed",
    "exact_fills",
    "skipped_segments",
    "unmatched_fills",
)
CHANGE_STAT = {
    "open": "opened",
    "late_fill": "late_fills",
    "manual_sell": "manual_sells",
    "manual_buy": "manual_buys",
}
# What the rule reads of a local order, as plain rows: building 10,000 model
# instances costs more than the query.
COMPARED_FIELDS = (
    "pk",
    "account",
    "broker_order_id",
    "base_symbol",
    "status",
    "quantity",
    "filled_quantity",
    "broker_filled_quantity",
    "exact_filled_quantity",
    "price",
    "broker_status",
    "missing_count",
    "updated_at",
)
MAX_NOTES = 50
ID_CHUNK = 500
MISSING_CHUNK = 200


def in_time_order(broker_orders):
    """Orders placed outside the bot in the order they were placed (`ordDtTm`), so a manual
    buy comes before the sell of its shares however the book lists them; the book's own
    order when a row has no time."""
    orders = list(broker_orders)
    if any(order.placed_at is None for order in orders):
        return orders
    return sorted(orders, key=lambda order: order.placed_at)


def empty_stats():
    return dict.fromkeys(STAT_KEYS + EXTRA_KEYS, 0)


class Reconciliation:
    """One pass over a fetched book for the context's account; `stats` holds the counts so far."""

    def __init__(self, ctx, book, *, fetched_at, dry_run=False, threshold=None, trades=None):
        self.ctx = ctx
        self.book = book
        self.trades = trades if trades is not None else ()
        self.fills = trades.by_order() if trades is not None else {}
        self.fetched_at = fetched_at
        self.dry_run = dry_run
        self.threshold = threshold or settings.ORDERSTATE_MISSING_THRESHOLD
        self.batch_size = settings.ORDERSTATE_SYNC_BATCH_SIZE
        self.stats = empty_stats()
        self.notes = []
        self.plan = []

    def run(self):
        for message in getattr(self.book, "errors", ()):
            self._error(f"unreadable row: {message}")
        for message in getattr(self.trades, "errors", ()):
            self._error(f"unreadable trade row: {message}")
        self.stats["skipped_segments"] = getattr(self.book, "skipped", 0) + getattr(
            self.trades, "skipped", 0
        )
        by_id = {broker_order.order_id: broker_order for broker_order in self.book}
        self.stats["unmatched_fills"] = sum(
            len(fills) for order_id, fills in self.fills.items() if order_id not in by_id
        )
        unchanged, changed, missing = self._compare_active(by_id)
        changed.extend(self._compare_closed(by_id))
        if unchanged and not self.dry_run:
            broker.mark_synced(unchanged)
        self._apply(changed)
        self._mark_missing(missing)
        for broker_order in in_time_order(by_id.values()):
            self._record_external(broker_order)
        if self.notes:
            self.stats["notes"] = self.notes
        if self.dry_run:
            self.stats["plan"] = self.plan[:MAX_NOTES]
        return self.stats

    def _compare_active(self, by_id):
        """Sort local active orders into unchanged, changed and missing; pops matched ids."""
        unchanged, changed, missing = [], [], []
        unreadable = getattr(self.book, "unreadable_ids", set())
        # Oldest first, so a buy and the sell of its shares that both filled since the
        # last sync reach the position in the order they happened: open, then close.
        active = (
            Order.objects.filter(account=self.ctx.account, status__in=sorted(ACTIVE))
            .order_by("placed_at", "pk")
            .values_list(*COMPARED_FIELDS, named=True)
        )
        for order in active:
            self.stats["checked"] += 1
            broker_order = by_id.pop(order.broker_order_id, None)
            if broker_order is None:
                # An order registered after the book was fetched is not missing from it,
                # nor is one whose row was there but unreadable.
                if order.updated_at <= self.fetched_at and order.broker_order_id not in unreadable:
                    missing.append(order)
                continue
            target = self._target(order, broker_order)
            if target is None:
                continue
            if target.is_noop:
                unchanged.append(order.pk)
            else:
                changed.append((order, broker_order, target))
        return unchanged, changed, missing

    def _compare_closed(self, by_id):
        """Closed local orders the book asks to change (late fills); pops every known id."""
        ids = list(by_id)
        found = []
        for start in range(0, len(ids), ID_CHUNK):
            found.extend(
                Order.objects.filter(
                    account=self.ctx.account, broker_order_id__in=ids[start : start + ID_CHUNK]
                ).values_list(*COMPARED_FIELDS, named=True)
            )
        changed = []
        for order in found:
            broker_order = by_id.pop(order.broker_order_id)
            target = self._target(order, broker_order)
            if target is not None and target.changes:
                changed.append((order, broker_order, target))
        return changed

    def _report(self, broker_order):
        return BrokerReport.of(broker_order, self.fills.get(broker_order.order_id, ()))

    def _target(self, order, broker_order):
        try:
            return broker_target(order, self._report(broker_order))
        except ValidationError as exc:
            self._failed(broker_order, exc)
            return None

    def _apply(self, changed):
        """Apply the differences in batches of one transaction each."""
        if self.dry_run:
            for _, broker_order, target in changed:
                self._plan(broker_order, target.changes)
                for change in target.changes:
                    self._count(change)
            return
        for start in range(0, len(changed), self.batch_size):
            batch = changed[start : start + self.batch_size]
            reports = [(order.pk, self._report(broker_order)) for order, broker_order, _ in batch]
            try:
                outcomes = broker.apply_broker_updates(self.ctx, reports)
            except Exception as exc:
                # The batch's commit failed, so none of its orders changed.
                for _, broker_order, _ in batch:
                    self._failed(broker_order, exc)
                continue
            for (_, broker_order, _), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    self._failed(broker_order, outcome)
                    continue
                for change in outcome:
                    self._count(change)

    def _mark_missing(self, orders):
        self.stats["missing"] = len(orders)
        if self.dry_run:
            flagged = [order for order in orders if order.missing_count + 1 >= self.threshold]
            self.stats["flagged"] = len(flagged)
            self.plan.extend(
                {"order_id": order.broker_order_id, "changes": ["missing"]} for order in orders
            )
            return
        for start in range(0, len(orders), MISSING_CHUNK):
            chunk = [order.pk for order in orders[start : start + MISSING_CHUNK]]
            try:
                flagged = broker.mark_missing(self.ctx, chunk, self.threshold)
            except Exception as exc:
                log.exception("sync: counting %d missing orders failed", len(chunk))
                self._error(f"missing orders {chunk[0]}..{chunk[-1]}: {exc}")
                continue
            self.stats["flagged"] += len(flagged)
            for order in flagged:
                if order.missing_count == self.threshold:
                    log.warning(
                        "order %s (%s) missing from the broker book %d times in a row",
                        order.broker_order_id,
                        order.base_symbol,
                        order.missing_count,
                    )

    def _record_external(self, broker_order):
        self.stats["external"] += 1
        if self.dry_run:
            expected = self._expected_external(broker_order)
            self._plan(broker_order, ["external", *expected])
            for change in expected:
                self._count(change)
            return
        try:
            fills = self.fills.get(broker_order.order_id, ())
            _, changes = broker.record_broker_order(self.ctx, broker_order, fills)
        except Exception as exc:
            self._failed(broker_order, exc)
            return
        for change in changes:
            if change in ("manual_sell", "manual_buy"):
                self._count(change)

    def _expected_external(self, broker_order):
        """What `record_broker_order` will count: a manual sell or a manual buy."""
        account, base = self.ctx.account, broker_order.base_symbol
        if broker_order.filled_quantity == 0:
            return []
        if broker_order.side == Side.SELL:
            has_trade = Trade.objects.open().filter(account=account, symbol=base).exists()
            return ["manual_sell"] if has_trade else []
        queued = FailedOrder.objects.waiting().filter(account=account, symbol=base).exists()
        return ["manual_buy"] if queued else []

    def _count(self, change):
        key = CHANGE_STAT.get(change, change)
        self.stats[key] = self.stats.get(key, 0) + 1

    def _plan(self, broker_order, changes):
        self.plan.append({"order_id": broker_order.order_id, "changes": list(changes)})

    def _failed(self, broker_order, exc):
        log.error("sync: order %s not updated", broker_order.order_id, exc_info=exc)
        self._error(f"order {broker_order.order_id}: {exc}")

    def _error(self, message):
        self.stats["errors"] += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(message[:500])
