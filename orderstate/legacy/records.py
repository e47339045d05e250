"""One record of the old bot's JSON files, checked and mapped to plain values.

Each `parse_*` function takes one record (a dict from the file) and returns
the mapped record and notes on what was normalised, or raises `RecordError`
whose message is the reason the record cannot be imported. Nothing here
touches the database.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from orderstate.legacy import fields
from orderstate.legacy.fields import RecordError
from orderstate.models import FailedOrderStatus, OrderType, Side, TradeStatus, Variety
from orderstate.money import to_paise
from orderstate.states import ACTIVE, Status
from orderstate.validation import parse_symbol

PENDING_FILE = "pending_orders.json"
HISTORY_FILE = "trades_history.json"
ACTIVE_FILE = "active_sell_orders.json"
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
    execution_price: Decimal | None = None  # from its trade: the files keep none per order

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


# Records -------------------------------------------------------------------------


def parse_order(record, file, index):
    if not isinstance(record, dict):
        raise RecordError(f"not an object but {type(record).__name__}")
    fields.storable_text(record)
    notes = []
    order_id = fields.order_id(record.get("order_id"))
    trading, _base = fields.symbol(record.get("symbol"))
    quantity = fields.quantity(record.get("qty"), "qty")
    metadata = fields.json_ready(fields.extras(record, ORDER_FIELDS))
    price = fields.optional_price(record, "price", notes, metadata)
    default_type = OrderType.MARKET if price is None else OrderType.LIMIT
    order_type = fields.choice(
        record.get("order_type"), OrderType, "order_type", default_type, notes
    )
    if price is None and order_type in (OrderType.LIMIT, OrderType.SL):
        raise RecordError(f"price: a {order_type} order needs a price, got null")
    variety = fields.choice(record.get("variety"), Variety, "variety", Variety.REGULAR, notes)
    status = fields.status(record.get("status"), notes)
    filled = fields.quantity(record.get("executed_qty") or 0, "executed_qty", allow_zero=True)
    if filled > quantity:
        raise RecordError(f"executed_qty: {filled} is more than qty {quantity}")
    if status == Status.EXECUTED and filled != quantity:
        notes.append(f"EXECUTED with executed_qty {filled}: taken as fully filled ({quantity})")
        filled = quantity
    if status == Status.PARTIALLY_FILLED and filled == 0:
        raise RecordError("status PARTIALLY_FILLED with executed_qty 0")
    if status == Status.PARTIALLY_FILLED and filled == quantity:
        notes.append(f"PARTIALLY_FILLED with all {quantity} filled: taken as EXECUTED")
        status = Status.EXECUTED
    if status in (Status.PENDING, Status.OPEN) and filled:
        notes.append(f"{status} with executed_qty {filled}: taken as PARTIALLY_FILLED")
        status = Status.PARTIALLY_FILLED
    placed_at = fields.moment(record.get("placed_at"), "placed_at")
    last_check = fields.moment(record.get("last_status_check"), "last_status_check")
    if placed_at is None:
        if last_check is None:
            raise RecordError("placed_at: missing")
        notes.append("placed_at missing, taken from last_status_check")
        placed_at = last_check
    side = fields.clean_text(record.get("side")).upper() or None
    if side is not None and side not in Side.values:
        raise RecordError(f"side: {record.get('side')!r} is not BUY or SELL")
    order = OrderRecord(
        file=file,
        index=index,
        order_id=order_id,
        symbol=trading,
        ticker=fields.clean_text(record.get("ticker"))[:40],
        quantity=quantity,
        price=price,
        order_type=order_type,
        variety=variety,
        status=status,
        filled_quantity=filled,
        status_reason=fields.clean_text(record.get("rejection_reason")),
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
    fields.storable_text(record)
    notes = []
    raw_symbol = record.get("symbol") or record.get("placed_symbol") or record.get("ticker")
    _trading, base = fields.symbol(raw_symbol)
    quantity = fields.quantity(record.get("qty"), "qty")
    entry_price = fields.decimal(record.get("entry_price"), "entry_price", 4, notes)
    if entry_price is None:
        raise RecordError("entry_price: missing or null")
    entry_time = fields.moment(record.get("entry_time"), "entry_time")
    if entry_time is None:
        raise RecordError("entry_time: missing")
    exit_price = fields.decimal(record.get("exit_price"), "exit_price", 4, notes)
    exit_time = fields.moment(record.get("exit_time"), "exit_time")
    status_text = fields.clean_text(record.get("status")).lower()
    if not status_text:
        status_text = "closed" if exit_price is not None else "open"
        notes.append(f"status missing, taken as {status_text}")
    if status_text not in ("open", "closed"):
        raise RecordError(f"status: unknown trade status {record.get('status')!r}")
    status = TradeStatus.CLOSED if status_text == "closed" else TradeStatus.OPEN
    pnl = fields.money(record.get("pnl"), "pnl")
    if status == TradeStatus.CLOSED:
        if exit_price is None:
            raise RecordError("closed trade without exit_price")
        if pnl is None:
            pnl = to_paise((exit_price - entry_price) * quantity)
            notes.append(f"pnl missing, computed as {pnl}")
    metadata = fields.json_ready(fields.extras(record, TRADE_FIELDS))
    entry_id = record.get("order_id")
    exit_id = record.get("sell_order_id")
    trade = TradeRecord(
        file=file,
        index=index,
        symbol=base,
        ticker=fields.clean_text(record.get("ticker"))[:40],
        quantity=quantity,
        entry_price=entry_price,
        entry_time=entry_time,
        status=status,
        exit_price=exit_price if status == TradeStatus.CLOSED else None,
        exit_time=exit_time if status == TradeStatus.CLOSED else None,
        exit_reason=fields.clean_text(record.get("exit_reason"))[:200],
        realised_pnl=pnl if status == TradeStatus.CLOSED else None,
        metadata=metadata,
        entry_order_id=fields.order_id(entry_id) if entry_id not in (None, "") else None,
        exit_order_id=fields.order_id(exit_id, "sell_order_id")
        if exit_id not in (None, "")
        else None,
        raw=fields.json_ready(record),
    )
    return trade, notes


def parse_failed(record, file, index):
    if not isinstance(record, dict):
        raise RecordError(f"not an object but {type(record).__name__}")
    fields.storable_text(record)
    notes = []
    trading, _base = fields.symbol(record.get("symbol") or record.get("ticker"))
    first_failed_at = fields.moment(record.get("first_failed_at"), "first_failed_at")
    if first_failed_at is None:
        raise RecordError("first_failed_at: missing (the old bot never retried such an entry)")
    status = fields.clean_text(record.get("status")).upper() or FailedOrderStatus.WAITING
    if status not in FailedOrderStatus.values:
        raise RecordError(f"status: unknown failed-order status {record.get('status')!r}")
    metadata = fields.json_ready(fields.extras(record, FAILED_FIELDS))
    close = fields.optional_price(record, "close", notes, metadata)
    failed = FailedRecord(
        file=file,
        index=index,
        symbol=trading,
        ticker=fields.clean_text(record.get("ticker"))[:40],
        quantity=fields.quantity(record.get("qty"), "qty"),
        close=close,
        reason=fields.clean_text(record.get("reason"))[:2000],
        first_failed_at=first_failed_at,
        retry_count=fields.quantity(record.get("retry_count") or 0, "retry_count", allow_zero=True),
        last_retry_at=fields.moment(record.get("last_retry_attempt"), "last_retry_attempt"),
        status=status,
        metadata=metadata,
    )
    return failed, notes


def parse_active(record, file, base_key):
    """An entry of the sell engine's snapshot (keyed by base symbol), as an active SELL."""
    if not isinstance(record, dict):
        raise RecordError(f"not an object but {type(record).__name__}")
    fields.storable_text(record)
    notes = []
    order_id = fields.order_id(record.get("order_id"))
    trading, base = fields.symbol(record.get("symbol") or base_key)
    if base != fields.symbol(base_key, "key")[1]:
        raise RecordError(f"symbol {trading} does not match its key {base_key}")
    price = fields.decimal(record.get("target_price"), "target_price", 2, notes)
    if price is None:
        raise RecordError("target_price: missing or null")
    status = fields.status(record.get("status") or Status.OPEN, notes)
    if status not in ACTIVE:
        raise RecordError(f"status {status} is not active")
    quantity = fields.quantity(record.get("qty"), "qty")
    filled = fields.quantity(record.get("filled_qty") or 0, "filled_qty", allow_zero=True)
    if filled >= quantity:
        raise RecordError(f"filled_qty {filled} leaves nothing of qty {quantity} to sell")
    if filled and status != Status.PARTIALLY_FILLED:
        status = Status.PARTIALLY_FILLED
    placed_at = fields.moment(record.get("placed_at"), "placed_at")
    order = OrderRecord(
        file=file,
        index=base_key,
        order_id=order_id,
        symbol=trading,
        ticker=fields.clean_text(record.get("ticker"))[:40],
        quantity=quantity,
        price=price,
        order_type=OrderType.LIMIT,
        variety=Variety.REGULAR,
        status=status,
        filled_quantity=filled,
        status_reason="",
        placed_at=placed_at,
        last_synced_at=None,
        metadata=fields.json_ready(fields.extras(record, ACTIVE_FIELDS)),
        side=Side.SELL,
        side_reason="active_sell_orders.json",
    )
    return order, notes
