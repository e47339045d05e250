"""Reading, checking and mapping the old bot's JSON files; nothing here writes.

`read_legacy()` turns `pending_orders.json`, `trades_history.json` and an
optional `active_sell_orders.json` into plain records ready for the manager's
import verbs, plus the records that cannot be imported (file, index, reason)
and notes on what was inferred or normalised. `orderstate.legacy_import`
writes the records; `orderstate.legacy_export` writes the files back.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from orderstate.errors import ValidationError
from orderstate.models import FailedOrderStatus, OrderType, Side, TradeStatus, Variety
from orderstate.shapes import LEGACY_ENTRIES
from orderstate.states import ACTIVE, Status, from_broker_status
from orderstate.validation import parse_order_id, parse_quantity, parse_symbol

IST = ZoneInfo("Asia/Kolkata")
PENDING_FILE = "pending_orders.json"
HISTORY_FILE = "trades_history.json"
ACTIVE_FILE = "active_sell_orders.json"
FLOAT_NOISE = Decimal("0.000001")

ORDER_FIELDS = {
    "order_id", "symbol", "ticker", "qty", "order_type", "variety", "price", "placed_at",
    "last_status_check", "status", "rejection_reason", "executed_qty", "side",
}  # fmt: skip
TRADE_FIELDS = {
    "symbol", "ticker", "entry_price", "entry_time", "qty", "status", "exit_price",
    "exit_time", "exit_reason", "pnl",
}  # fmt: skip
FAILED_FIELDS = {
    "symbol", "ticker", "close", "qty", "reason", "first_failed_at", "retry_count",
    "last_retry_attempt", "status",
}  # fmt: skip
ACTIVE_FIELDS = {
    "order_id", "target_price", "qty", "symbol", "ticker", "base_symbol", "status",
    "filled_qty", "placed_at",
}  # fmt: skip


class LegacyFileError(Exception):
    """A file that cannot be read at all (truncated, not JSON, wrong shape)."""


class RecordError(ValueError):
    """One record that cannot be imported; the message is the reason."""


@dataclass
class Rejection:
    file: str
    index: object
    reason: str


@dataclass
class Note:
    file: str
    index: object
    message: str


@dataclass
class OrderRecord:
    file: str
    index: object
    order_id: str
    symbol: str
    ticker: str
    quantity: int
    price: Decimal | None
    order_type: str
    variety: str
    status: str
    filled_quantity: int
    status_reason: str
    placed_at: datetime
    last_synced_at: datetime | None
    metadata: dict
    side: str | None = None
    side_reason: str = ""
    average_price: Decimal | None = None

    @property
    def base_symbol(self):
        return parse_symbol(self.symbol)[1]


@dataclass
class TradeRecord:
    file: str
    index: object
    symbol: str
    ticker: str
    quantity: int
    entry_price: Decimal
    entry_time: datetime
    status: str
    exit_price: Decimal | None
    exit_time: datetime | None
    exit_reason: str
    realised_pnl: Decimal | None
    metadata: dict
    entry_order_id: str | None = None
    exit_order_id: str | None = None
    raw: dict = field(default_factory=dict)


@dataclass
class FailedRecord:
    file: str
    index: object
    symbol: str
    ticker: str
    quantity: int
    close: Decimal | None
    reason: str
    first_failed_at: datetime
    retry_count: int
    last_retry_at: datetime | None
    status: str
    metadata: dict


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


# Field parsing -------------------------------------------------------------------


def _text(value):
    return "" if value is None else str(value).strip()


def _decimal(value, name, places, notes_out):
    """A positive Decimal rounded to `places`; float noise is rounded silently, more with a note."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: {value!r} is not a number")
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise RecordError(f"{name}: {value!r} is not a number") from None
    if not number.is_finite():
        raise RecordError(f"{name}: {value!r} is not a finite number")
    if number <= 0:
        raise RecordError(f"{name}: must be greater than zero, not {number}")
    step = Decimal(1).scaleb(-places)
    rounded = number.quantize(step, rounding=ROUND_HALF_UP)
    if abs(number - rounded) > FLOAT_NOISE:
        notes_out.append(f"{name} {number} rounded to {rounded}")
    return rounded


def _money(value, name):
    """A signed amount (P&L) in rupees and paise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise RecordError(f"{name}: {value!r} is not a number") from None
    if isinstance(value, bool) or not number.is_finite():
        raise RecordError(f"{name}: {value!r} is not a finite number")
    return number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _time(value, name):
    """Aware datetime; the old files wrote naive ISO text in IST."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name}: {value!r} is not an ISO date-time")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RecordError(f"{name}: {value!r} is not an ISO date-time") from None
    return moment.replace(tzinfo=IST) if moment.tzinfo is None else moment


def _quantity(value, name, *, allow_zero=False):
    if value is None:
        raise RecordError(f"{name}: missing")
    try:
        return parse_quantity(value, name, allow_zero=allow_zero)
    except ValidationError as exc:
        raise RecordError(exc.detail) from None


def _symbol(value, name="symbol"):
    try:
        return parse_symbol(value, name)
    except ValidationError as exc:
        raise RecordError(exc.detail) from None


def _order_id(value, name="order_id"):
    try:
        return parse_order_id(value, name)
    except ValidationError as exc:
        raise RecordError(exc.detail) from None


def _status(value, notes_out):
    text = _text(value)
    if not text:
        raise RecordError("status: missing")
    if text.upper() in Status.values:
        return Status(text.upper())
    mapped = from_broker_status(text)
    if mapped is None:
        raise RecordError(f"status: unknown status {value!r}")
    notes_out.append(f"status {value!r} read as {mapped}")
    return mapped


def _choice(value, choices, name, default, notes_out):
    text = _text(value).upper()
    if not text:
        notes_out.append(f"{name} missing, taken as {default}")
        return default
    if text not in choices.values:
        raise RecordError(f"{name}: {value!r} is not one of {', '.join(choices.values)}")
    return text


def _extras(record, known):
    return {key: value for key, value in record.items() if key not in known}


def _json_ready(value):
    """Decimals parsed from the file back to JSON numbers for metadata."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


# Records -------------------------------------------------------------------------


def parse_order(record, file, index):
    if not isinstance(record, dict):
        raise RecordError(f"not an object but {type(record).__name__}")
    notes = []
    order_id = _order_id(record.get("order_id"))
    trading, _base = _symbol(record.get("symbol"))
    quantity = _quantity(record.get("qty"), "qty")
    price = _decimal(record.get("price"), "price", 2, notes)
    default_type = OrderType.MARKET if price is None else OrderType.LIMIT
    order_type = _choice(record.get("order_type"), OrderType, "order_type", default_type, notes)
    if price is None and order_type in (OrderType.LIMIT, OrderType.SL):
        raise RecordError(f"price: a {order_type} order needs a price, got null")
    variety = _choice(record.get("variety"), Variety, "variety", Variety.REGULAR, notes)
    status = _status(record.get("status"), notes)
    filled = _quantity(record.get("executed_qty") or 0, "executed_qty", allow_zero=True)
    if filled > quantity:
        raise RecordError(f"executed_qty: {filled} is more than qty {quantity}")
    if status == Status.EXECUTED and filled != quantity:
        notes.append(f"EXECUTED with executed_qty {filled}: taken as fully filled ({quantity})")
        filled = quantity
    if status == Status.PARTIALLY_FILLED and filled == 0:
        raise RecordError("status PARTIALLY_FILLED with executed_qty 0")
    if status in (Status.PENDING, Status.OPEN) and filled:
        notes.append(f"{status} with executed_qty {filled}: taken as PARTIALLY_FILLED")
        status = Status.PARTIALLY_FILLED
    placed_at = _time(record.get("placed_at"), "placed_at")
    last_check = _time(record.get("last_status_check"), "last_status_check")
    if placed_at is None:
        if last_check is None:
            raise RecordError("placed_at: missing")
        notes.append("placed_at missing, taken from last_status_check")
        placed_at = last_check
    side = _text(record.get("side")).upper() or None
    if side is not None and side not in Side.values:
        raise RecordError(f"side: {record.get('side')!r} is not BUY or SELL")
    metadata = _json_ready(_extras(record, ORDER_FIELDS))
    order = OrderRecord(
        file=file,
        index=index,
        order_id=order_id,
        symbol=trading,
        ticker=_text(record.get("ticker"))[:40],
        quantity=quantity,
        price=price,
        order_type=order_type,
        variety=variety,
        status=status,
        filled_quantity=filled,
        status_reason=_text(record.get("rejection_reason")),
        placed_at=placed_at,
        last_synced_at=last_check,
        metadata=metadata,
        side=side,
        side_reason="side field" if side else "",
    )
    return order, notes


def parse_trade(record, file, index):
    if not isinstance(record, dict):
        raise RecordError(f"not an object but {type(record).__name__}")
    notes = []
    raw_symbol = record.get("symbol") or record.get("placed_symbol") or record.get("ticker")
    _trading, base = _symbol(raw_symbol)
    quantity = _quantity(record.get("qty"), "qty")
    entry_price = _decimal(record.get("entry_price"), "entry_price", 4, notes)
    if entry_price is None:
        raise RecordError("entry_price: missing or null")
    entry_time = _time(record.get("entry_time"), "entry_time")
    if entry_time is None:
        raise RecordError("entry_time: missing")
    exit_price = _decimal(record.get("exit_price"), "exit_price", 4, notes)
    exit_time = _time(record.get("exit_time"), "exit_time")
    status_text = _text(record.get("status")).lower()
    if not status_text:
        status_text = "closed" if exit_price is not None else "open"
        notes.append(f"status missing, taken as {status_text}")
    if status_text not in ("open", "closed"):
        raise RecordError(f"status: unknown trade status {record.get('status')!r}")
    status = TradeStatus.CLOSED if status_text == "closed" else TradeStatus.OPEN
    pnl = _money(record.get("pnl"), "pnl")
    if status == TradeStatus.CLOSED:
        if exit_price is None:
            raise RecordError("closed trade without exit_price")
        if exit_time is None:
            raise RecordError("closed trade without exit_time")
        if pnl is None:
            pnl = ((exit_price - entry_price) * quantity).quantize(Decimal("0.01"))
            notes.append(f"pnl missing, computed as {pnl}")
    metadata = _json_ready(_extras(record, TRADE_FIELDS))
    entry_id = record.get("order_id")
    exit_id = record.get("sell_order_id")
    trade = TradeRecord(
        file=file,
        index=index,
        symbol=base,
        ticker=_text(record.get("ticker"))[:40],
        quantity=quantity,
        entry_price=entry_price,
        entry_time=entry_time,
        status=status,
        exit_price=exit_price if status == TradeStatus.CLOSED else None,
        exit_time=exit_time if status == TradeStatus.CLOSED else None,
        exit_reason=_text(record.get("exit_reason"))[:200],
        realised_pnl=pnl if status == TradeStatus.CLOSED else None,
        metadata=metadata,
        entry_order_id=_order_id(entry_id) if entry_id not in (None, "") else None,
        exit_order_id=_order_id(exit_id, "sell_order_id") if exit_id not in (None, "") else None,
        raw=_json_ready(record),
    )
    return trade, notes


def parse_failed(record, file, index):
    if not isinstance(record, dict):
        raise RecordError(f"not an object but {type(record).__name__}")
    notes = []
    trading, _base = _symbol(record.get("symbol") or record.get("ticker"))
    first_failed_at = _time(record.get("first_failed_at"), "first_failed_at")
    if first_failed_at is None:
        raise RecordError("first_failed_at: missing (the old bot never retried such an entry)")
    status = _text(record.get("status")).upper() or FailedOrderStatus.WAITING
    if status not in FailedOrderStatus.values:
        raise RecordError(f"status: unknown failed-order status {record.get('status')!r}")
    failed = FailedRecord(
        file=file,
        index=index,
        symbol=trading,
        ticker=_text(record.get("ticker"))[:40],
        quantity=_quantity(record.get("qty"), "qty"),
        close=_decimal(record.get("close"), "close", 2, notes),
        reason=_text(record.get("reason"))[:2000],
        first_failed_at=first_failed_at,
        retry_count=_quantity(record.get("retry_count") or 0, "retry_count", allow_zero=True),
        last_retry_at=_time(record.get("last_retry_attempt"), "last_retry_attempt"),
        status=status,
        metadata=_json_ready(_extras(record, FAILED_FIELDS)),
    )
    return failed, notes


def parse_active(base_key, record, file):
    """An entry of the sell engine's snapshot, as an OrderRecord of an active SELL."""
    if not isinstance(record, dict):
        raise RecordError(f"not an object but {type(record).__name__}")
    notes = []
    order_id = _order_id(record.get("order_id"))
    trading, base = _symbol(record.get("symbol") or base_key)
    if base != _symbol(base_key, "key")[1]:
        raise RecordError(f"symbol {trading} does not match its key {base_key}")
    price = _decimal(record.get("target_price"), "target_price", 2, notes)
    if price is None:
        raise RecordError("target_price: missing or null")
    status = _status(record.get("status") or Status.OPEN, notes)
    if status not in ACTIVE:
        raise RecordError(f"status {status} is not active")
    quantity = _quantity(record.get("qty"), "qty")
    filled = _quantity(record.get("filled_qty") or 0, "filled_qty", allow_zero=True)
    if filled >= quantity:
        raise RecordError(f"filled_qty {filled} leaves nothing of qty {quantity} to sell")
    if filled and status != Status.PARTIALLY_FILLED:
        status = Status.PARTIALLY_FILLED
    placed_at = _time(record.get("placed_at"), "placed_at")
    order = OrderRecord(
        file=file,
        index=base_key,
        order_id=order_id,
        symbol=trading,
        ticker=_text(record.get("ticker"))[:40],
        quantity=quantity,
        price=price,
        order_type=OrderType.LIMIT,
        variety=Variety.REGULAR,
        status=status,
        filled_quantity=filled,
        status_reason="",
        placed_at=placed_at,
        last_synced_at=None,
        metadata=_json_ready(_extras(record, ACTIVE_FIELDS)),
        side=Side.SELL,
        side_reason="active_sell_orders.json",
    )
    return order, notes


# The three files together -----------------------------------------------------------


def read_legacy(pending_path=None, history_path=None, active_path=None):
    """Every importable record of the files, the rejected ones and what was inferred."""
    data = LegacyData()
    pending = _load(pending_path, data, dict | list)
    history = _load(history_path, data, dict)
    active = _load(active_path, data, dict)
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
        parsed = _parse_one(data, ACTIVE_FILE, key, lambda r, f, i: parse_active(i, r, f), record)
        if parsed is not None:
            snapshot.append(parsed)
    orders = _unique_orders(data, orders, raw_orders)
    trades = _unique_trades(data, trades)
    orders = _merge_snapshot(data, orders, snapshot)
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


def _merge_snapshot(data, orders, snapshot):
    """The sell engine's snapshot is the newest word on its orders' prices."""
    by_id = {order.order_id: order for order in orders}
    for entry in snapshot:
        order = by_id.get(entry.order_id)
        if order is None:
            data.note(entry.file, entry.index, f"order {entry.order_id} only in the snapshot")
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
                order.average_price = price


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
