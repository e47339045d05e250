"""What a fill does to the position (Trade) of its symbol.

Runs inside the transaction of the action that fills the order, with the order
already locked. Fills are applied as they happen, so a partly filled buy is
already a position and a partly filled sell has already realised part of its P&L.
"""

from dataclasses import dataclass

from orderstate.models import EventKind, Side, Trade, TradeStatus
from orderstate.money import to_paise, weighted_average

EXIT_FIELDS = [
    "exit_price",
    "closed_quantity",
    "realised_pnl",
    "exit_order",
    "updated_at",
    "status",
    "exit_time",
    "exit_reason",
]
EVENT_KINDS = {"opened": EventKind.TRADE_OPENED, "closed": EventKind.TRADE_CLOSED}


@dataclass(frozen=True)
class PositionChange:
    trade: Trade
    kind: str  # "opened", "added", "reduced" or "closed"
    data: dict

    def event(self):
        """(kind, data) of the event saying how the fill moved the position."""
        kind = EVENT_KINDS.get(self.kind, EventKind.TRADE_UPDATED)
        return kind, {"trade_id": self.trade.pk, "position": self.kind, **self.data}


class OpenTrades:
    """The open trades of a batch's symbols, locked in one query instead of one each.

    Valid for the transaction that built it, and only while nothing in that
    transaction is rolled back to a savepoint (a rolled-back trade would stay here).
    """

    def __init__(self, orders):
        keys = {(order.account, order.base_symbol) for order in orders}
        self._trades = dict.fromkeys(keys)
        rows = Trade.objects.select_for_update().filter(
            status=TradeStatus.OPEN,
            account__in={account for account, _ in keys},
            symbol__in={symbol for _, symbol in keys},
        )
        for trade in rows.order_by("pk"):
            if (trade.account, trade.symbol) in self._trades:
                self._trades[trade.account, trade.symbol] = trade

    def get(self, order):
        key = (order.account, order.base_symbol)
        return (
            self._trades[key]
            if key in self._trades
            else open_trade(order.account, order.base_symbol)
        )

    def put(self, trade):
        self._trades[trade.account, trade.symbol] = (
            trade if trade.status == TradeStatus.OPEN else None
        )


def apply_fill(order, quantity, price, at, open_trades=None):
    """Move the position of `order.base_symbol` by a fill; None when there is none to move.

    `open_trades` (an `OpenTrades`) saves the lookup of the symbol's open trade.
    """
    if open_trades is not None:
        trade = open_trades.get(order)
    else:
        trade = open_trade(order.account, order.base_symbol)
    move = _buy if order.side == Side.BUY else _sell
    change = move(order, quantity, price, at, trade)
    if open_trades is not None and change is not None:
        open_trades.put(change.trade)
    return change


def open_trade(account, symbol, *, lock=True):
    # Locked: two fills of different orders for one symbol must not both read
    # the same quantity and each write their own sum.
    # At most one row (a partial unique constraint), so no ORDER BY is needed.
    trades = Trade.objects.select_for_update() if lock else Trade.objects
    rows = trades.filter(account=account, symbol=symbol, status=TradeStatus.OPEN).order_by()[:1]
    return next(iter(rows), None)


def record_exit(trade, quantity, price, order, at):
    """Book `quantity` sold at `price` on a locked trade; it closes when none is left.

    Returns the P&L realised by this exit.
    """
    pnl = to_paise((price - trade.entry_price) * quantity)
    trade.exit_price = weighted_average(trade.exit_price, trade.closed_quantity, price, quantity)
    trade.closed_quantity += quantity
    trade.realised_pnl = (trade.realised_pnl or 0) + pnl
    trade.exit_order = order
    trade.updated_at = at
    if trade.closed_quantity == trade.quantity:
        trade.status = TradeStatus.CLOSED
        trade.exit_time = at
        trade.exit_reason = trade.exit_reason or order.metadata.get("exit_reason", "target")
    trade.save(update_fields=EXIT_FIELDS)
    return pnl


def _buy(order, quantity, price, at, trade):
    if trade is None:
        trade = Trade.objects.create(
            account=order.account,
            symbol=order.base_symbol,
            ticker=order.ticker,
            quantity=quantity,
            entry_price=price,
            entry_time=at,
            entry_order=order,
            metadata=dict(order.metadata),
            updated_at=at,
        )
        return PositionChange(trade, "opened", {"quantity": quantity, "entry_price": str(price)})
    trade.entry_price = weighted_average(trade.entry_price, trade.quantity, price, quantity)
    trade.quantity += quantity
    trade.updated_at = at
    trade.save(update_fields=["entry_price", "quantity", "updated_at"])
    return PositionChange(
        trade, "added", {"quantity": quantity, "entry_price": str(trade.entry_price)}
    )


def _sell(order, quantity, price, at, trade):
    if trade is None:
        return None
    sold = min(quantity, trade.open_quantity)
    pnl = record_exit(trade, sold, price, order, at)
    kind = "closed" if trade.status == TradeStatus.CLOSED else "reduced"
    return PositionChange(
        trade, kind, {"quantity": sold, "exit_price": str(price), "pnl": str(pnl)}
    )
