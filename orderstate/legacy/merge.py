"""How the records of three files that drifted apart become one consistent set to import.

Repeated ids, trades closed without a time, the in-memory snapshot's prices,
sides the files never recorded, two active sells for one symbol, re-entries of
one position, and two waiting failed buys for one symbol: each is settled here
the way the old bot read it, with a note or a rejection saying what was done.
"""

from datetime import datetime

from orderstate.legacy.records import ACTIVE_FILE, HISTORY_FILE, PENDING_FILE
from orderstate.legacy.shapes import LEGACY_ENTRIES
from orderstate.market import IST
from orderstate.models import FailedOrderStatus, OrderType, Side, TradeStatus, Variety
from orderstate.money import AVERAGE_PLACES
from orderstate.states import ACTIVE, Status
from orderstate.validation import parse_symbol


def unique_orders(data, orders, raw_orders):
    """The old tracker read the first entry of a repeated id; later ones are reported."""
    first = {}
    kept = []
    for order in orders:
        seen = first.get(order.order_id)
        if seen is None:
            first[order.order_id] = order
            kept.append(order)
        elif raw_orders[order.index] == raw_orders[seen.index]:
            data.note(order.file, order.index, f"repeats order {order.order_id}; skipped")
        else:
            data.reject(
                order.file,
                order.index,
                f"duplicate order_id {order.order_id} (first at index {seen.index}, "
                "which the old tracker used)",
            )
    return kept


def _trade_key(trade):
    return trade.entry_order_id or f"{trade.symbol}@{trade.entry_time.isoformat()}"


def unique_trades(data, trades):
    first = {}
    kept = []
    for trade in trades:
        key = _trade_key(trade)
        seen = first.get(key)
        if seen is None:
            first[key] = trade
            kept.append(trade)
        elif seen.raw == trade.raw:
            data.note(trade.file, trade.index, f"repeats trade at index {seen.index}; skipped")
        elif seen.status == trade.status == TradeStatus.CLOSED:
            data.reject(
                trade.file,
                trade.index,
                f"trade {key} closed twice (first at index {seen.index}, sell "
                f"{seen.exit_order_id}; again by sell {trade.exit_order_id}); first kept",
            )
        else:
            data.reject(
                trade.file, trade.index, f"duplicate trade {key} (first at index {seen.index})"
            )
    return kept


def exit_times(data, trades, orders):
    """A closed trade without exit_time takes its sell order's last status check."""
    by_id = {order.order_id: order for order in orders}
    kept = []
    for trade in trades:
        if trade.status == TradeStatus.CLOSED and trade.exit_time is None:
            sell = by_id.get(trade.exit_order_id)
            if sell is None:
                data.reject(trade.file, trade.index, "closed trade without exit_time")
                continue
            trade.exit_time = sell.last_synced_at or sell.placed_at
            data.note(
                trade.file,
                trade.index,
                f"exit_time missing, taken from sell {sell.order_id}: {trade.exit_time}",
            )
        kept.append(trade)
    return kept


def merge_snapshot(data, orders, snapshot, trades):
    """The sell engine's snapshot is the newest word on its orders' prices."""
    by_id = {order.order_id: order for order in orders}
    closed_by = {
        trade.exit_order_id: trade
        for trade in trades
        if trade.status == TradeStatus.CLOSED and trade.exit_order_id
    }
    for entry in snapshot:
        order = by_id.get(entry.order_id)
        if entry.order_id in closed_by:
            data.reject(
                entry.file,
                entry.index,
                f"order {entry.order_id} closed the {entry.base_symbol} trade at index "
                f"{closed_by[entry.order_id].index} of {HISTORY_FILE}; not active",
            )
            continue
        if order is None:
            message = f"order {entry.order_id} only in the snapshot"
            if entry.placed_at is None:
                entry.placed_at = datetime.now(IST)
                message += "; placed_at missing, taken as now"
            data.note(entry.file, entry.index, message)
            orders.append(entry)
            by_id[entry.order_id] = entry
            continue
        if order.base_symbol != entry.base_symbol:
            data.reject(
                entry.file,
                entry.index,
                f"order {entry.order_id} is for {order.base_symbol} in {PENDING_FILE}",
            )
            continue
        if order.status not in ACTIVE:
            data.reject(
                entry.file,
                entry.index,
                f"order {entry.order_id} is {order.status} in {PENDING_FILE}, not active",
            )
            continue
        if order.price != entry.price:
            data.note(
                entry.file,
                entry.index,
                f"order {entry.order_id}: target_price {entry.price} replaces price {order.price}",
            )
            order.price = entry.price
        order.metadata = {**entry.metadata, **order.metadata}
        order.ticker = order.ticker or entry.ticker
        data.snapshot_merged += 1
    return orders


def infer_sides(data, orders, trades, snapshot):
    snapshot_ids = {entry.order_id for entry in snapshot}
    sell_ids = {trade.exit_order_id for trade in trades if trade.exit_order_id}
    buy_ids = {trade.entry_order_id for trade in trades if trade.entry_order_id}
    kept = []
    for order in orders:
        evidence = []
        if order.order_id in snapshot_ids:
            evidence.append((Side.SELL, ACTIVE_FILE))
        if order.order_id in sell_ids:
            evidence.append((Side.SELL, "a trade's sell_order_id"))
        if order.order_id in buy_ids:
            evidence.append((Side.BUY, "a trade's order_id"))
        if order.side:
            evidence.insert(0, (order.side, "side field"))
        sides = {side for side, _ in evidence}
        if len(sides) > 1:
            reasons = ", ".join(f"{side} by {why}" for side, why in evidence)
            data.reject(order.file, order.index, f"order {order.order_id} has two sides: {reasons}")
            continue
        if evidence:
            order.side, order.side_reason = evidence[0]
        elif order.order_type == OrderType.MARKET or order.variety == Variety.AMO:
            order.side, order.side_reason = Side.BUY, "MARKET/AMO order (the buyer's)"
        elif order.order_type == OrderType.LIMIT and order.variety == Variety.REGULAR:
            order.side, order.side_reason = Side.SELL, "LIMIT/REGULAR order (the sell engine's)"
        else:
            data.reject(
                order.file,
                order.index,
                f"cannot infer the side of a {order.order_type}/{order.variety} order",
            )
            continue
        data.sides[order.side_reason] += 1
        kept.append(order)
    return kept


def one_active_sell_per_symbol(data, orders, snapshot):
    """At most one active sell per symbol: the snapshot's, else the latest placed."""
    snapshot_ids = {entry.order_id for entry in snapshot}
    active_sells = {}
    for order in orders:
        if order.side == Side.SELL and order.status in ACTIVE:
            active_sells.setdefault(order.base_symbol, []).append(order)
    dropped = set()
    for base, candidates in active_sells.items():
        if len(candidates) < 2:
            continue
        candidates.sort(
            key=lambda o: (
                o.order_id in snapshot_ids,
                o.placed_at or datetime.max.replace(tzinfo=IST),
            )
        )
        keeper = candidates[-1]
        for order in candidates[:-1]:
            dropped.add(id(order))
            data.reject(
                order.file,
                order.index,
                f"second active sell order for {base}: {keeper.order_id} is the one tracked",
            )
    return [order for order in orders if id(order) not in dropped]


def merge_open_entries(data, trades):
    """The old bot appended a trade per re-entry; we hold one open position per symbol."""
    open_by_symbol = {}
    kept = []
    for trade in trades:
        if trade.status != TradeStatus.OPEN:
            kept.append(trade)
            continue
        first = open_by_symbol.get(trade.symbol)
        if first is None:
            open_by_symbol[trade.symbol] = trade
            kept.append(trade)
            continue
        entries = first.metadata.setdefault(LEGACY_ENTRIES, [first.raw])
        entries.append(trade.raw)
        total = first.quantity + trade.quantity
        value = first.entry_price * first.quantity + trade.entry_price * trade.quantity
        first.entry_price = (value / total).quantize(AVERAGE_PLACES)
        first.quantity = total
        data.note(
            trade.file,
            trade.index,
            f"open {trade.symbol} entry merged into the position of index {first.index}",
        )
    return kept


def set_average_prices(orders, trades):
    """An executed order's average price is its trade's entry or exit price."""
    by_id = {order.order_id: order for order in orders}
    for trade in trades:
        single = LEGACY_ENTRIES not in trade.metadata
        pairs = [(trade.entry_order_id, trade.entry_price, Side.BUY)]
        if trade.status == TradeStatus.CLOSED:
            pairs.append((trade.exit_order_id, trade.exit_price, Side.SELL))
        for order_id, price, side in pairs:
            order = by_id.get(order_id)
            if (
                single
                and order is not None
                and order.side == side
                and order.status == Status.EXECUTED
                and order.quantity == trade.quantity
            ):
                order.execution_price = price


def one_waiting_per_symbol(data, failed):
    """One waiting entry per base symbol: the most recent failure is kept."""
    latest = {}
    for entry in failed:
        if entry.status != FailedOrderStatus.WAITING:
            continue
        base = parse_symbol(entry.symbol)[1]
        current = latest.get(base)
        if current is None or entry.first_failed_at > current.first_failed_at:
            latest[base] = entry
    kept = []
    for entry in failed:
        base = parse_symbol(entry.symbol)[1]
        if entry.status == FailedOrderStatus.WAITING and latest[base] is not entry:
            data.reject(
                entry.file,
                entry.index,
                f"older failed order for {base} (index {latest[base].index} is more recent)",
            )
            continue
        kept.append(entry)
    return kept
