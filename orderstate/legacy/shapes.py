"""The dict shapes the old bot read from its JSON files, built from our rows.

These are the only places numbers become floats: the old code did arithmetic
on them as floats, and the legacy files are JSON numbers.
"""

from decimal import Decimal

from orderstate.market import legacy_time
from orderstate.models import FailedOrder, Order, Trade, TradeStatus
from orderstate.money import PAISA

# Trade metadata key holding the old file's entries of a position merged at import.
LEGACY_ENTRIES = "legacy_entries"


def _number(value):
    return float(value) if value is not None else None


def active_sell_order(order):
    return {
        **order.metadata,
        "order_id": order.broker_order_id,
        "target_price": _number(order.price),
        "qty": order.quantity,
        "symbol": order.symbol,
        "base_symbol": order.base_symbol,
        "ticker": order.ticker,
        "status": order.status,
        "filled_qty": order.filled_quantity,
        "placed_at": legacy_time(order.placed_at),
    }


def pending_order(order):
    return {
        **order.metadata,
        "order_id": order.broker_order_id,
        "symbol": order.symbol,
        "ticker": order.ticker,
        "side": order.side,
        "qty": order.quantity,
        "order_type": order.order_type,
        "variety": order.variety,
        "price": _number(order.price) if order.price is not None else order.metadata.get("price"),
        "placed_at": legacy_time(order.placed_at),
        "last_status_check": legacy_time(order.last_synced_at),
        "status": order.status,
        "rejection_reason": order.status_reason or None,
        "check_count": order.metadata.get("check_count", 0),
        "executed_qty": order.filled_quantity,
    }


def trade(trade):
    entry = trade.entry_order
    metadata = {k: v for k, v in trade.metadata.items() if k != LEGACY_ENTRIES}
    shape = {
        **metadata,
        "symbol": trade.symbol,
        "placed_symbol": entry.symbol if entry else trade.metadata.get("placed_symbol"),
        "ticker": trade.ticker,
        "entry_price": _number(trade.entry_price),
        "entry_time": legacy_time(trade.entry_time),
        "qty": trade.quantity,
        "status": trade.status.lower(),
        "order_id": entry.broker_order_id if entry else trade.metadata.get("order_id"),
    }
    if trade.status == TradeStatus.CLOSED:
        exit_order = trade.exit_order
        pnl = trade.realised_pnl or 0
        cost = trade.entry_price * trade.quantity
        shape.update(
            exit_price=_number(trade.exit_price),
            exit_time=legacy_time(trade.exit_time),
            exit_reason=trade.exit_reason or None,
            sell_order_id=(
                exit_order.broker_order_id if exit_order else trade.metadata.get("sell_order_id")
            ),
            pnl=_number(pnl),
            pnl_pct=trade.metadata.get("pnl_pct", _percent(pnl, cost)),
        )
    return shape


def _percent(pnl, cost):
    return round(float(pnl / cost * 100), 2) if cost else 0.0


def trade_entries(position):
    """The old file's entries for one position: re-entries merged at import come apart again."""
    shape = trade(position)
    entries = position.metadata.get(LEGACY_ENTRIES)
    if not entries:
        return [shape]
    closed = position.status == TradeStatus.CLOSED
    exit_fields = ("exit_price", "exit_time", "exit_reason", "sell_order_id")
    result = []
    for entry in entries:
        part = {**entry, "status": shape["status"]}
        if closed:
            part.update({name: shape[name] for name in exit_fields})
            entry_price = Decimal(str(entry["entry_price"]))
            pnl = ((position.exit_price - entry_price) * int(entry["qty"])).quantize(PAISA)
            part.update(pnl=_number(pnl), pnl_pct=_percent(pnl, entry_price * int(entry["qty"])))
        result.append(part)
    return result


def failed_order(entry):
    return {
        **entry.metadata,
        "symbol": entry.trading_symbol or entry.symbol,
        "ticker": entry.ticker,
        "qty": entry.quantity,
        "close": (
            _number(entry.reference_price)
            if entry.reference_price is not None
            else entry.metadata.get("close")
        ),
        "reason": entry.reason,
        "first_failed_at": legacy_time(entry.first_failed_at),
        "retry_count": entry.retry_count,
        "last_retry_attempt": legacy_time(entry.last_retry_at),
        "status": entry.status,
    }


def trade_history(account):
    trades = Trade.objects.filter(account=account).select_related("entry_order", "exit_order")
    waiting = FailedOrder.objects.waiting().filter(account=account)
    return {
        "trades": [
            entry for t in trades.order_by("entry_time", "id") for entry in trade_entries(t)
        ],
        "failed_orders": [failed_order(f) for f in waiting.order_by("first_failed_at", "id")],
    }


def active_sell_orders(account):
    """What the old sell engine kept in memory: the active sell orders by base symbol."""
    sells = Order.objects.active().tracked_sells().for_account(account).order_by("base_symbol")
    return {order.base_symbol: active_sell_order(order) for order in sells}
