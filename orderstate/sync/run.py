"""Reconciliation of local order state with a broker's order book (DESIGN.md, "Broker sync").

The book is fetched once, before any transaction. Local active orders are
loaded in one query, and the book's other ids in one more (to find late fills
of orders we closed and to tell external orders from known ones). Orders that
match the book are stamped in bulk; the differences go through the manager in
batches of ORDERSTATE_SYNC_BATCH_SIZE orders, one transaction each with a
savepoint per order, so a failure of one order leaves it untouched and the
others applied, and a crash leaves every order of the open batch untouched.
"""

import logging
from collections import Counter
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from orderstate.brokers import get_broker
from orderstate.brokers.base import BrokerUnavailable
from orderstate.brokers.kotak_report import parse_order_report
from orderstate.checks.problems import find_problems
from orderstate.manager import OrderStateManager
from orderstate.models import EventSource, FailedOrder, Order, Side, SyncOutcome, SyncRun, Trade
from orderstate.ops.locks import single_instance
from orderstate.states import ACTIVE, Status

log = logging.getLogger(__name__)

LOCK_NAME = "broker-sync"
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
# at or past the threshold).
EXTRA_KEYS = ("opened", "late_fills", "flagged")
CHANGE_STAT = {
    "open": "opened",
    "late_fill": "late_fills",
    "manual_sell": "manual_sells",
    "manual_buy": "manual_buys",
}
COMPARED_FIELDS = (
    "pk",
    "account",
    "broker_order_id",
    "base_symbol",
    "status",
    "quantity",
    "filled_quantity",
    "price",
    "broker_status",
    "missing_count",
    "updated_at",
)
MAX_NOTES = 50
ID_CHUNK = 500
MISSING_CHUNK = 200
TICK = Decimal("0.01")


def run_sync(
    broker_name=None,
    *,
    dry_run=False,
    actor=None,
    source=EventSource.SYNC,
    broker=None,
    account=None,
):
    """One reconciliation under the single-instance lock; returns the stored SyncRun.

    `broker` (an object with `fetch_order_book()`) overrides `broker_name`.
    The outcome is ok, failed (the broker could not be read: nothing changed),
    or skipped (another sync holds the lock).
    """
    name = getattr(broker, "name", None) or broker_name or settings.ORDERSTATE_BROKER
    with single_instance(LOCK_NAME) as acquired:
        if not acquired:
            return SyncRun.objects.create(
                broker=name,
                dry_run=dry_run,
                outcome=SyncOutcome.SKIPPED,
                finished_at=timezone.now(),
                stats=empty_stats(),
                error="another sync is running; skipped",
            )
        # Holding the lock, no other run can be live: a RUNNING one was cut off
        # (the process was killed) and is closed as such.
        SyncRun.objects.filter(outcome=SyncOutcome.RUNNING).update(
            outcome=SyncOutcome.FAILED,
            finished_at=timezone.now(),
            error="abandoned: the process ended during the run",
        )
        run = SyncRun.objects.create(broker=name, dry_run=dry_run)
        try:
            broker = broker or get_broker(name)
            book = broker.fetch_order_book()
        except BrokerUnavailable as exc:
            log.warning("sync %s: broker unavailable: %s", run.pk, exc)
            return _finish(run, SyncOutcome.FAILED, empty_stats(), str(exc))
        except Exception as exc:
            log.exception("sync %s: reading the %s book failed", run.pk, name)
            return _finish(run, SyncOutcome.FAILED, empty_stats(), f"{type(exc).__name__}: {exc}")
        manager = OrderStateManager(
            source=source, actor=actor, account=account or settings.ORDERSTATE_DEFAULT_ACCOUNT
        )
        reconciliation = Reconciliation(manager, book, fetched_at=run.started_at, dry_run=dry_run)
        try:
            stats = reconciliation.run()
        except BaseException as exc:
            # Interrupted: each batch committed is whole and the open one rolled
            # back; record how far the run got, then let the signal through.
            _finish(run, SyncOutcome.FAILED, reconciliation.stats, f"interrupted: {exc!r}")
            raise
        if not dry_run:
            stats.update(state_problem_stats(run.pk))
        return _finish(run, SyncOutcome.OK, stats)


def sync_with_broker(manager, orders_api=None, broker_orders=None):
    """The old bot's entry point: returns the stats dict, plus outcome, error and sync_run_id.

    `broker_orders` is a list of raw Kotak rows (or a whole `order_report` body);
    `orders_api` is any object with `get_orders()` or `order_report()` returning
    that body. With neither, the configured broker is read.
    """
    if broker_orders is not None:
        broker = _GivenBook(broker_orders)
    elif orders_api is not None:
        broker = _OrdersApi(orders_api)
    else:
        broker = None
    run = run_sync(broker=broker, actor=manager.actor, account=manager.account)
    return {**run.stats, "outcome": run.outcome, "error": run.error, "sync_run_id": run.pk}


def state_problem_stats(run_id=None):
    """`check_state`'s findings after a run: their count and the count per code.

    One read-only pass (a few queries). A check that fails is logged and left out
    of the stats; the orders the run applied stay applied.
    """
    try:
        problems = find_problems()
    except Exception:
        log.exception("sync %s: checking the state after the run failed", run_id)
        return {}
    codes = Counter(problem.code for problem in problems)
    return {"state_problems": len(problems), "state_problem_codes": dict(sorted(codes.items()))}


def empty_stats():
    return dict.fromkeys(STAT_KEYS + EXTRA_KEYS, 0)


def summary(run):
    """One line for logs and the command's output."""
    stats = run.stats or {}
    counts = " ".join(f"{key}={stats.get(key, 0)}" for key in STAT_KEYS + EXTRA_KEYS)
    dry = " (dry run)" if run.dry_run else ""
    error = f" error={run.error!r}" if run.error else ""
    problems = ""
    if "state_problems" in stats:
        codes = ",".join(f"{code}:{n}" for code, n in stats.get("state_problem_codes", {}).items())
        problems = f" state_problems={stats['state_problems']}" + (f" ({codes})" if codes else "")
    return f"sync #{run.pk} {run.broker} {run.outcome}{dry} {counts}{problems}{error}"


def _finish(run, outcome, stats, error=""):
    run.outcome = outcome
    run.stats = stats
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "stats", "error", "finished_at"])
    return run


class Reconciliation:
    """One pass over a fetched book; `stats` holds the counts so far."""

    def __init__(self, manager, book, *, fetched_at, dry_run=False, threshold=None):
        self.manager = manager
        self.book = book
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
        by_id = {}
        for broker_order in self.book:
            by_id[broker_order.order_id] = broker_order
        unchanged, changed, missing = self._compare_active(by_id)
        changed.extend(self._late_fills(by_id))
        if unchanged and not self.dry_run:
            self.manager.mark_synced(unchanged)
        self._apply(changed)
        self._mark_missing(missing)
        for broker_order in by_id.values():
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
        # Plain rows, not model instances: building 10,000 models costs more than the query.
        # Oldest first, so a buy and the sell of its shares that both filled since the
        # last sync reach the position in the order they happened: open, then close.
        active = (
            Order.objects.filter(account=self.manager.account, status__in=sorted(ACTIVE))
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
            if broker_order.status is None:
                self.stats["unknown_status"] += 1
            expected = expected_changes(order, broker_order)
            if expected is None:
                unchanged.append(order.pk)
            else:
                changed.append((order, broker_order, expected))
        return unchanged, changed, missing

    def _late_fills(self, by_id):
        """Closed local orders the book shows with more fills; pops every locally known id."""
        ids = list(by_id)
        found = []
        for start in range(0, len(ids), ID_CHUNK):
            found.extend(
                Order.objects.filter(
                    account=self.manager.account, broker_order_id__in=ids[start : start + ID_CHUNK]
                )
            )
        changed = []
        for order in found:
            broker_order = by_id.pop(order.broker_order_id)
            if order.status in (Status.CANCELLED, Status.REJECTED) and (
                broker_order.filled_quantity > order.filled_quantity
            ):
                changed.append((order, broker_order, ["late_fill"]))
        return changed

    def _apply(self, changed):
        """Apply the differences in batches: one transaction each, a savepoint per order."""
        if self.dry_run:
            for _, broker_order, expected in changed:
                self._plan(broker_order, expected)
                for change in expected:
                    self._count(change)
            return
        for start in range(0, len(changed), self.batch_size):
            batch = changed[start : start + self.batch_size]
            reports = [(order.pk, broker_report(broker_order)) for order, broker_order, _ in batch]
            try:
                outcomes = self.manager.apply_broker_updates(reports)
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
                    if change != "unknown_status":  # counted when the book was compared
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
                flagged = self.manager.mark_missing(chunk, self.threshold)
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
            _, changes = self.manager.record_broker_order(broker_order)
        except Exception as exc:
            self._failed(broker_order, exc)
            return
        for change in changes:
            if change in ("manual_sell", "manual_buy"):
                self._count(change)

    def _expected_external(self, broker_order):
        account, base = self.manager.account, broker_order.base_symbol
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


def expected_changes(order, broker_order):
    """The change names applying `broker_order` to the active `order` would make; None if none.

    Mirrors `OrderStateManager.apply_broker_update` closely enough to sort the book
    without a query: fills never go down, and a status the book words differently
    but means the same (PARTIALLY_FILLED vs "open" with fills) is no change.
    An empty list means only the raw broker text differs.
    """
    changes = []
    if broker_order.status is not None:
        filled = max(broker_order.filled_quantity, order.filled_quantity)
        status = broker_order.status
        if status == Status.EXECUTED:
            filled = order.quantity
        elif status in ACTIVE:
            if filled >= order.quantity:
                status = Status.EXECUTED
            elif filled > 0:
                status = Status.PARTIALLY_FILLED
            elif order.status == Status.PENDING:
                status = Status.OPEN
            else:
                status = order.status
        if status != order.status or filled != order.filled_quantity:
            changes.append("open" if status == Status.OPEN else status.lower())
        price = tick_price(broker_order.price)
        if status in ACTIVE and price is not None and price != order.price:
            changes.append("price_updated")
    if changes or broker_order.broker_status != order.broker_status:
        return changes
    return None


def broker_report(broker_order):
    """What `OrderStateManager.apply_broker_update` takes from one row of the book."""
    return {
        "status": broker_order.status,
        "filled_quantity": broker_order.filled_quantity,
        "average_price": broker_order.average_price,
        "price": tick_price(broker_order.price),
        "broker_status": broker_order.broker_status,
        "reason": broker_order.reason,
    }


def tick_price(price):
    """A book price the order can take (two decimals), or None."""
    if price is None or price != price.quantize(TICK):
        return None
    return price.quantize(TICK)


class _GivenBook:
    """Raw Kotak rows or a whole body, as `sync_with_broker(broker_orders=...)` hands them in."""

    name = "given"

    def __init__(self, rows):
        self.rows = rows

    def fetch_order_book(self):
        return parse_order_report(self.rows)


class _OrdersApi:
    """Any object with `get_orders()` or `order_report()` returning a Kotak body."""

    name = "orders_api"

    def __init__(self, api):
        self.api = api

    def fetch_order_book(self):
        call = getattr(self.api, "get_orders", None) or getattr(self.api, "order_report", None)
        if call is None:
            raise BrokerUnavailable("orders_api has neither get_orders() nor order_report()")
        try:
            body = call()
        except Exception as exc:
            raise BrokerUnavailable(f"orders_api failed: {type(exc).__name__}: {exc}") from exc
        if body is None:
            raise BrokerUnavailable("orders_api returned None")
        return parse_order_report(body)
