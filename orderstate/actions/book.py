"""The ledger's matching engine: lots applied in execution order to one symbol's book.

`Book.apply(lot)` matches a lot first in, first out against the unmatched lots
of the other side, moves the symbol's trades (one per position, from flat to
flat), and `save()` writes every lot, match and trade it touched. Appending, it
reads the open lots from the database a chunk at a time; replaying, it holds
them all.
"""

from collections import deque
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from orderstate.models import EventKind, Lot, LotMatch, LotSource, Side, Trade, TradeStatus
from orderstate.money import AVERAGE_PLACES, to_paise

CHUNK = 50  # open lots read at a time from the open end
EVENT_KINDS = {"opened": EventKind.TRADE_OPENED, "closed": EventKind.TRADE_CLOSED}
TRADE_FIELDS = [
    "quantity",
    "cost",
    "entry_price",
    "entry_time",
    "entry_order",
    "closed_quantity",
    "matched_cost",
    "proceeds",
    "exit_price",
    "exit_time",
    "exit_order",
    "exit_reason",
    "realised_pnl",
    "status",
    "updated_at",
]


@dataclass(frozen=True)
class PositionChange:
    trade: Trade
    kind: str  # "opened", "added", "reduced", "covered", "closed" or "oversold"
    data: dict
    lot: Lot = None

    def event(self):
        """(kind, data) of the event saying how the fill moved the position."""
        kind = EVENT_KINDS.get(self.kind, EventKind.TRADE_UPDATED)
        return kind, {"trade_id": self.trade.pk, "position": self.kind, **self.data}


class _OpenLots:
    """The unmatched lots of one side, oldest first.

    Appending, they are read from the open end of the database a chunk at a
    time; replaying, they are the lots applied so far.
    """

    def __init__(self, position, side, *, from_database):
        self.position = position
        self.side = side
        self.queue = deque()
        self.loaded = 0
        self.exhausted = not from_database

    def first(self):
        while not self.queue and not self.exhausted:
            rows = list(
                Lot.objects.filter(
                    account=self.position.account,
                    symbol=self.position.symbol,
                    side=self.side,
                    open_quantity__gt=0,
                ).order_by("at", "id")[self.loaded : self.loaded + CHUNK]
            )
            self.loaded += len(rows)
            self.exhausted = len(rows) < CHUNK
            self.queue.extend(remember(row) for row in rows)
        return self.queue[0] if self.queue else None

    def consume(self, quantity):
        lot = self.queue[0]
        lot.open_quantity -= quantity
        if lot.open_quantity == 0:
            self.queue.popleft()
        return lot

    def add(self, lot):
        if self.exhausted:
            self.queue.append(lot)


class Book:
    """One symbol's ledger while fills are applied to it; `save()` writes what changed."""

    def __init__(self, position, *, replaying=False, reusable=()):
        self.position = position
        self.replaying = replaying
        self.reusable = deque(reusable)
        self.open = {
            side: _OpenLots(position, side, from_database=not replaying) for side in Side.values
        }
        self.trade = position.open_trade
        self.lots = {}
        self.matches = []
        self.trades = {}

    # Applying -----------------------------------------------------------------------

    def apply(self, lot):
        self._touch_lot(lot)
        changes = self._buy(lot) if lot.side == Side.BUY else self._sell(lot)
        last = self.position.last_at
        self.position.last_at = lot.at if last is None or lot.at > last else last
        return changes

    def _buy(self, lot):
        changes = []
        remaining, pnl, netted = lot.quantity, 0, 0
        while remaining and self.position.net_quantity < 0:
            sell = self.open[Side.SELL].first()
            if sell is None:
                break  # the position row says oversold, no lot does: check_state reports it
            quantity = min(remaining, sell.open_quantity)
            trade = self.trade or self._open_trade(lot)
            trade.exit_order = sell.order
            if sell.trade is None:
                sell.trade = trade
                self._touch_lot(sell)
            self._match(lot, self.open[Side.SELL].consume(quantity), quantity, trade)
            self._add_bought(trade, quantity, lot.price)
            pnl += (sell.price - lot.price) * quantity
            remaining -= quantity
            netted += quantity
            self.position.net_quantity += quantity
        if netted:
            lot.trade = self.trade
            lot.open_quantity = 0
            lot.position_after = self.position.net_quantity
            data = {"quantity": netted, "entry_price": str(lot.price), "pnl": str(to_paise(pnl))}
            if self.position.net_quantity == 0:
                changes.append(self._closing_change(lot, data))
            else:
                changes.append(PositionChange(self.trade, "covered", data, lot=lot))
        if not remaining:
            return changes
        held = self._split(lot, remaining) if netted else lot
        if self.trade is None:
            trade = self._open_trade(held)
            kind, data = "opened", {"quantity": remaining, "entry_price": str(held.price)}
        else:
            trade, kind = self.trade, "added"
            data = {"quantity": remaining}
        self._add_bought(trade, remaining, held.price)
        if kind == "added":
            data["entry_price"] = str(trade.entry_price)
        held.trade = trade
        held.open_quantity = remaining
        self.position.net_quantity += remaining
        held.position_after = self.position.net_quantity
        self.open[Side.BUY].add(held)
        changes.append(PositionChange(trade, kind, data, lot=held))
        return changes

    def _sell(self, lot):
        changes = []
        remaining, pnl, matched = lot.quantity, 0, 0
        trade = self.trade
        while remaining and self.position.net_quantity > 0:
            buy = self.open[Side.BUY].first()
            if buy is None:
                break  # the position row says held, no lot does: check_state reports it
            quantity = min(remaining, buy.open_quantity)
            self._match(self.open[Side.BUY].consume(quantity), lot, quantity, trade)
            pnl += (lot.price - buy.price) * quantity
            remaining -= quantity
            matched += quantity
            self.position.net_quantity -= quantity
        lot.trade = trade
        if remaining and lot.manual:
            lot.outside_quantity = remaining
            remaining = 0
        lot.open_quantity = remaining
        self.position.net_quantity -= remaining
        lot.position_after = self.position.net_quantity
        if remaining:
            self.open[Side.SELL].add(lot)
        if matched:
            trade.exit_order = lot.order
            data = {"quantity": matched, "exit_price": str(lot.price), "pnl": str(to_paise(pnl))}
            if self.position.net_quantity == 0:
                changes.append(self._closing_change(lot, data))
            else:
                self._touch_trade(trade)
                changes.append(PositionChange(trade, "reduced", data, lot=lot))
        if remaining and trade is not None:
            changes.append(PositionChange(trade, "oversold", {"quantity": remaining}, lot=lot))
        return changes

    def _split(self, lot, quantity):
        """Part of a fill that opens the next trade after its first part closed one."""
        part = Lot(
            account=lot.account,
            symbol=lot.symbol,
            side=lot.side,
            quantity=quantity,
            price=lot.price,
            at=lot.at,
            order=lot.order,
            manual=lot.manual,
            open_quantity=quantity,
            part_of=lot,
        )
        lot.quantity -= quantity
        self._touch_lot(part)
        return part

    def _match(self, buy, sell, quantity, trade):
        self._touch_lot(buy)
        self._touch_lot(sell)
        self.matches.append((buy, sell, quantity))
        trade.closed_quantity += quantity
        trade.matched_cost += buy.price * quantity
        trade.proceeds += sell.price * quantity
        self._touch_trade(trade)

    def _add_bought(self, trade, quantity, price):
        trade.quantity += quantity
        trade.cost += price * quantity
        trade.entry_price = (trade.cost / trade.quantity).quantize(AVERAGE_PLACES)
        self._touch_trade(trade)

    def _open_trade(self, lot):
        order = lot.order
        if self.reusable:
            trade = self.reusable.popleft()
        else:
            trade = Trade(metadata=dict(order.metadata) if order is not None else {})
        trade.account, trade.symbol = lot.account, lot.symbol
        trade.ticker = order.ticker if order is not None else trade.ticker
        trade.quantity, trade.cost, trade.entry_price = 0, 0, lot.price
        trade.closed_quantity, trade.matched_cost, trade.proceeds = 0, 0, 0
        trade.entry_time, trade.entry_order = lot.at, order
        trade.exit_price = trade.exit_time = trade.exit_order = trade.realised_pnl = None
        trade.status = TradeStatus.OPEN
        self.trade = trade
        self.position.open_trade = trade
        self._touch_trade(trade)
        return trade

    def _closing_change(self, lot, data):
        trade = self.trade
        trade.status = TradeStatus.CLOSED
        trade.exit_time = lot.at
        exit_order = trade.exit_order
        metadata = exit_order.metadata if exit_order is not None else {}
        reason = "position_adjusted" if lot.source == LotSource.ADJUSTMENT else "target"
        trade.exit_reason = trade.exit_reason or metadata.get("exit_reason", reason)
        self._touch_trade(trade)
        self.trade = None
        self.position.open_trade = None
        return PositionChange(trade, "closed", data, lot=lot)

    def _touch_lot(self, lot):
        self.lots[id(lot)] = lot

    def _touch_trade(self, trade):
        self.trades[id(trade)] = trade

    # Saving ----------------------------------------------------------------------

    def save(self):
        now = timezone.now()
        for trade in self.reusable:
            trade.delete()  # a replay that found fewer trades than there were
        # Closed first: the one open trade per symbol may be a reused row closed before.
        for trade in sorted(self.trades.values(), key=lambda row: row.status == TradeStatus.OPEN):
            trade.exit_price = None
            trade.realised_pnl = None
            if trade.closed_quantity:
                trade.exit_price = (trade.proceeds / trade.closed_quantity).quantize(AVERAGE_PLACES)
                trade.realised_pnl = to_paise(trade.proceeds - trade.matched_cost)
            trade.updated_at = now
            if trade.pk is None:
                trade.save()
            else:
                trade.save(update_fields=TRADE_FIELDS)
        lots = list(self.lots.values())
        existing = [lot for lot in lots if lot.pk is not None]
        # A part after the lot it was split from: it points at that lot.
        for lot in sorted(
            (lot for lot in lots if lot.pk is None), key=lambda lot: bool(lot.part_of)
        ):
            lot.save()
        for lot in existing:
            lot.trade_id = lot.trade.pk if lot.trade is not None else None
        _write_lots(lot for lot in existing if written_state(lot) != getattr(lot, "loaded", None))
        LotMatch.objects.bulk_create(
            LotMatch(buy=buy, sell=sell, quantity=quantity) for buy, sell, quantity in self.matches
        )
        self.position.save(update_fields=["net_quantity", "last_at", "open_trade"])


LOT_COLUMNS = ("quantity", "open_quantity", "outside_quantity", "position_after", "trade_id")


def written_state(lot):
    """The columns a book changes on a lot, as the database should hold them."""
    return tuple(getattr(lot, name) for name in LOT_COLUMNS)


def remember(lot):
    """Note a lot's columns as read, so saving skips the lots nothing changed."""
    lot.loaded = written_state(lot)
    return lot


def _write_lots(lots):
    """One UPDATE per changed lot, sent together (executemany).

    Not `bulk_update`: its one statement of CASE WHEN branches per column grows
    quadratically on PostgreSQL (and wakes the JIT compiler), so replaying
    10,000 lots took minutes instead of seconds.
    """
    rows = [(*written_state(lot), lot.pk) for lot in lots]
    if not rows:
        return
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = %s" for name in LOT_COLUMNS)
    sql = f"UPDATE {quote(Lot._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
