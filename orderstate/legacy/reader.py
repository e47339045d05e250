"""Reading the old bot's three JSON files into records ready for import; nothing here writes.

`read_legacy()` turns `pending_orders.json`, `trades_history.json` and an
optional `active_sell_orders.json` into plain records for the manager's
import verbs (parsed one by one in `orderstate.legacy.records`), plus the
records that cannot be imported (file, index, reason) and notes on what was
inferred or normalised: sides, merged re-entries, the snapshot's prices.
`orderstate.legacy.importer` writes the records; `orderstate.legacy.exporter`
writes the files back.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from orderstate.legacy.records import (
    IST,
    Note,
    RecordError,
    Rejection,
    parse_active,
    parse_failed,
    parse_order,
    parse_trade,
)
from orderstate.legacy.shapes import LEGACY_ENTRIES
from orderstate.models import FailedOrderStatus, OrderType, Side, TradeStatus, Variety
from orderstate.states import ACTIVE, Status
from orderstate.validation import parse_symbol

PENDING_FILE = "pending_orders.json"
HISTORY_FILE = "trades_history.json"
ACTIVE_FILE = "active_sell_orders.json"


class LegacyFileError(Exception):
    """A file that cannot be read at all (truncated, not JSON, wrong shape)."""


@dataclass
class LegacyData:
    orders: list = field(default_factory=list)
    trades: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    rejections: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    read: Counter = field(default_factory=Counter)
    sides: Counter = field(default_factory=Counter)
    snapshot_merged: int = 0

    def reject(self, file, index, reason):
        self.rejections.append(Rejection(file, index, reason))

    def note(self, file, index, message):
        self.notes.append(Note(file, index, message))


# Files -------------------------------------------------------------------------


def load_json(path, notes):
    """The parsed file; a bad byte is replaced (with a note), bad JSON is an error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LegacyFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8-sig", errors="replace")
        notes.append(
            Note(
                path.name,
                None,
                f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8; "
                "read with U+FFFD in its place",
            )
        )
    if not text.strip():
        raise LegacyFileError(f"{path}: file is empty")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise LegacyFileError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}"
        ) from None


def _as_list(value, path, key):
    if value is None:
        return []
    if not isinstance(value, list):
        raise LegacyFileError(f"{path}: {key!r} must be a list, not {type(value).__name__}")
    return value


# The three files together -----------------------------------------------------------


def read_legacy(pending_path=None, history_path=None, active_path=None):
    """Every importable record of the files, the rejected ones and what was inferred."""
    data = LegacyData()
    pending = _load(pending_path, data, dict | list)
    history = _load(history_path, data, dict)
    active = _load(active_path, data, dict)
    for path, document, known in (
        (pending_path, pending, {"orders"}),
        (history_path, history, {"trades", "failed_orders", "last_run"}),
    ):
        for key in sorted(set(document or {}) - known if isinstance(document, dict) else ()):
            data.note(Path(path).name, None, f"top-level key {key!r} is not imported")
    raw_orders = pending if isinstance(pending, list) else (pending or {}).get("orders")
    raw_orders = _as_list(raw_orders, pending_path, "orders")
    raw_trades = _as_list((history or {}).get("trades"), history_path, "trades")
    raw_failed = _as_list((history or {}).get("failed_orders"), history_path, "failed_orders")
    data.read.update(
        {
            "orders": len(raw_orders),
            "trades": len(raw_trades),
            "failed_orders": len(raw_failed),
            "active_sell_orders": len(active or {}),
        }
    )
    trades = _parse_all(data, raw_trades, HISTORY_FILE + " trades", parse_trade)
    failed = _parse_all(data, raw_failed, HISTORY_FILE + " failed_orders", parse_failed)
    orders = _parse_all(data, raw_orders, PENDING_FILE, parse_order)
    snapshot = []
    for key, record in (active or {}).items():
        parsed = _parse_one(data, ACTIVE_FILE, key, parse_active, record)
        if parsed is not None:
            snapshot.append(parsed)
    orders = _unique_orders(data, orders, raw_orders)
    trades = _unique_trades(data, trades)
    trades = _exit_times(data, trades, orders)
    orders = _merge_snapshot(data, orders, snapshot, trades)
    orders = _infer_sides(data, orders, trades, snapshot)
    data.orders = _one_active_sell_per_symbol(data, orders, snapshot)
    data.trades = _merge_open_entries(data, trades)
    _set_average_prices(data.orders, data.trades)
    data.failed = _one_waiting_per_symbol(data, failed)
    return data


def _load(path, data, kind):
    if path is None:
        return None
    parsed = load_json(path, data.notes)
    if not isinstance(parsed, kind):
        raise LegacyFileError(f"{path}: unexpected top-level {type(parsed).__name__}")
    return parsed


def _parse_one(data, file, index, parse, record):
    try:
        parsed, notes = parse(record, file, index)
    except RecordError as exc:
        data.reject(file, index, str(exc))
        return None
    for message in notes:
        data.note(file, index, message)
    return parsed


def _parse_all(data, records, file, parse):
    parsed = (_parse_one(data, file, index, parse, record) for index, record in enumerate(records))
    return [record for record in parsed if record is not None]


def _unique_orders(data, orders, raw_orders):
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


def _unique_trades(data, trades):
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


def _exit_times(data, trades, orders):
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


def _merge_snapshot(data, orders, snapshot, trades):
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


def _infer_sides(data, orders, trades, snapshot):
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


def _one_active_sell_per_symbol(data, orders, snapshot):
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


def _merge_open_entries(data, trades):
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
        first.entry_price = (value / total).quantize(Decimal("0.0001"))
        first.quantity = total
        data.note(
            trade.file,
            trade.index,
            f"open {trade.symbol} entry merged into the position of index {first.index}",
        )
    return kept


def _set_average_prices(orders, trades):
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


def _one_waiting_per_symbol(data, failed):
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
