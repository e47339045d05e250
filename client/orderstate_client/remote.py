"""What the API answers, as the bot reads it: `RemoteOrder`, and the manager's legacy dicts
built from the API's JSON (numbers as floats, times as naive IST text)."""

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from orderstate_client import market
from orderstate_client.errors import ValidationError

ACTIVE_STATUSES = ("PARTIALLY_FILLED", "OPEN", "PENDING")


def _decimal(value):
    return None if value is None else Decimal(str(value))


def when(value):
    """An API time as an aware datetime; None for none."""
    return None if not value else datetime.fromisoformat(value)


@dataclass(frozen=True)
class RemoteOrder:
    """An order as the API returned it; the attribute names of `orderstate.models.Order`."""

    broker_order_id: str
    symbol: str
    base_symbol: str
    side: str
    status: str
    quantity: int
    filled_quantity: int = 0
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    average_price: Decimal | None = None
    account: str = "default"
    trade: int | None = None
    ticker: str = ""
    exchange: str = ""
    order_type: str = ""
    variety: str = ""
    product: str = ""
    status_reason: str = ""
    broker_status: str = ""
    version: int = 1
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    last_synced_at: datetime | None = None
    missing_count: int = 0
    source: str = ""
    metadata: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data):
        known = {name for name in cls.__dataclass_fields__ if name != "raw"}
        values = {name: data[name] for name in known if data.get(name) is not None}
        for name in ("price", "trigger_price", "average_price"):
            values[name] = _decimal(data.get(name))
        for name in ("placed_at", "updated_at", "closed_at", "last_synced_at"):
            values[name] = when(data.get(name))
        return cls(**values, raw=dict(data))

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def remaining_quantity(self):
        return self.quantity - self.filled_quantity


def legacy_time(text):
    """An API time as the old files stored times (see `market.legacy_time`)."""
    return market.legacy_time(when(text))


def _float(value):
    return None if value is None else float(value)


def pending_order_shape(order):
    """An API order as the old tracker's `pending_orders.json` entry (as `shapes.pending_order`)."""
    metadata = order.get("metadata") or {}
    return {
        **metadata,
        "order_id": order["broker_order_id"],
        "symbol": order["symbol"],
        "ticker": order.get("ticker", ""),
        "side": order["side"],
        "qty": order["quantity"],
        "order_type": order.get("order_type"),
        "variety": order.get("variety"),
        "price": _float(order.get("price")),
        "placed_at": legacy_time(order.get("placed_at")),
        "last_status_check": legacy_time(order.get("last_synced_at")),
        "status": order["status"],
        "rejection_reason": order.get("status_reason") or None,
        "check_count": metadata.get("check_count", 0),
        "executed_qty": order.get("filled_quantity", 0),
    }


def trade_shape(trade):
    """An API trade as an entry of the old `trades` list (as `shapes.trade`)."""
    metadata = trade.get("metadata") or {}
    status = (trade.get("status") or "").upper()
    shape = {
        **metadata,
        "symbol": trade["symbol"],
        "placed_symbol": trade.get("entry_symbol") or metadata.get("placed_symbol"),
        "ticker": trade.get("ticker", ""),
        "entry_price": _float(trade.get("entry_price")),
        "entry_time": legacy_time(trade.get("entry_time")),
        "qty": trade["quantity"],
        "status": status.lower(),
        "order_id": trade.get("entry_order") or metadata.get("order_id"),
    }
    if status == "CLOSED":
        pnl = _decimal(trade.get("realised_pnl")) or Decimal(0)
        cost = _decimal(trade["entry_price"]) * trade["quantity"]
        shape.update(
            exit_price=_float(trade.get("exit_price")),
            exit_time=legacy_time(trade.get("exit_time")),
            exit_reason=trade.get("exit_reason") or None,
            sell_order_id=trade.get("exit_order") or metadata.get("sell_order_id"),
            pnl=float(pnl),
            pnl_pct=round(float(pnl / cost * 100), 2) if cost else 0.0,
        )
    return shape


def failed_order_shape(entry):
    """An API failed-order entry as the old `failed_orders` list held it."""
    return {
        **(entry.get("metadata") or {}),
        "symbol": entry.get("trading_symbol") or entry["symbol"],
        "ticker": entry.get("ticker", ""),
        "qty": entry["quantity"],
        "close": _float(entry.get("reference_price")),
        "reason": entry.get("reason", ""),
        "first_failed_at": legacy_time(entry.get("first_failed_at")),
        "retry_count": entry.get("retry_count", 0),
        "last_retry_attempt": legacy_time(entry.get("last_retry_at")),
        "status": entry.get("status"),
    }


def json_value(value):
    """Money as text, so no float rounding happens between the bot and the database."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"not a finite number: {value!r}")
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
