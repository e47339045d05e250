"""The ledger derived again from what the database recorded: for a database from before
the ledger (migration 0009), and for `check_state --fix` when a ledger and its trade disagree.

Lots come from each order's fills (the broker's own fills from its trade book,
then the bot's `Fill` rows, at their times and prices; the rest of what the order
filled at the price that makes its average),
and from imported history, whose trades have no fills behind them (their buy,
and their sell when the history closed them). The symbol's trades are then
derived from the lots, reusing the existing rows in order, and every figure
that changed is returned, so it can be shown.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Min, Q

from orderstate.actions.base import write_event
from orderstate.actions.book import Book
from orderstate.actions.ledger import Part, lock_position, parts_worth
from orderstate.models import (
    EventKind,
    FillSource,
    Lot,
    LotMatch,
    LotSource,
    Order,
    Side,
    Source,
    Trade,
)

FILL_KINDS = (EventKind.FILL, EventKind.EXECUTED, EventKind.LATE_FILL)
COMPARED = ("quantity", "closed_quantity", "entry_price", "exit_price", "realised_pnl", "status")


def rebuild_ledger(ctx, account, symbol):
    """Rebuild one symbol's ledger in one transaction; returns its differences (see `rebuild`)."""
    with transaction.atomic(durable=True):
        differences = rebuild(account, symbol)
        if differences:
            write_event(
                ctx.in_account(account),
                None,
                EventKind.NOTE,
                "",
                "",
                {
                    "ledger_rebuilt": symbol,
                    "symbol": symbol,
                    "changes": [list(map(str, d)) for d in differences],
                },
            )
    return differences


def rebuild(account, symbol):
    """Rebuild inside the caller's transaction; returns (trade pk, field, before, after) rows."""
    position = lock_position(account, symbol)
    trades = list(Trade.objects.filter(account=account, symbol=symbol).order_by("entry_time", "pk"))
    before = {trade.pk: {name: getattr(trade, name) for name in COMPARED} for trade in trades}
    LotMatch.objects.filter(Q(buy__account=account, buy__symbol=symbol)).delete()
    Lot.objects.filter(account=account, symbol=symbol).delete()
    position.net_quantity, position.open_trade, position.last_at = 0, None, None
    for trade in trades:
        trade.closed_quantity = 0
    book = Book(position, replaying=True, reusable=trades)
    for lot in sorted(recorded_lots(account, symbol), key=lambda lot: lot.at):
        book.apply(lot)
    book.save()
    differences = []
    for trade in Trade.objects.filter(pk__in=before):
        for name in COMPARED:
            old, new = before[trade.pk][name], getattr(trade, name)
            if old != new:
                differences.append((trade.pk, name, old, new))
    deleted = set(before) - set(Trade.objects.filter(pk__in=before).values_list("pk", flat=True))
    differences.extend((pk, "deleted", "", "") for pk in sorted(deleted))
    return differences


def recorded_lots(account, symbol):
    """Unsaved lots of every fill recorded for the symbol, and of its imported history."""
    orders = (
        Order.objects.filter(account=account, base_symbol=symbol, filled_quantity__gt=0)
        .exclude(source=Source.IMPORT)
        .annotate(first_fill=Min("events__at", filter=Q(events__kind__in=FILL_KINDS)))
        .prefetch_related("fills")
    )
    lots = []
    for order in orders:
        lots.extend(_order_lots(order))
    imported = Trade.objects.filter(account=account, symbol=symbol).filter(
        Q(entry_order__isnull=True) | Q(entry_order__source=Source.IMPORT)
    )
    for trade in imported.select_related("entry_order", "exit_order"):
        lots.extend(_history_lots(trade))
    return lots


def _order_lots(order):
    fills = sorted(order.fills.all(), key=lambda fill: (fill.at, fill.pk))
    exact = [fill for fill in fills if fill.source == FillSource.BROKER]
    lots = [
        _lot(order, order.side, fill.quantity, fill.price, fill.at, source=LotSource.TRADE_BOOK)
        for fill in exact
    ]
    left = order.filled_quantity - sum(fill.quantity for fill in exact)
    for fill in (fill for fill in fills if fill.source == FillSource.BOT):
        taken = min(fill.quantity, left)
        if taken > 0:
            lots.append(_lot(order, order.side, taken, fill.price, fill.at))
            left -= taken
    if left > 0:
        at = order.first_fill or order.closed_at or order.updated_at
        lots.extend(
            _lot(order, order.side, part.quantity, part.price, at)
            for part in _rest_parts(order, lots, left, at)
        )
    return lots


def _rest_parts(order, lots, rest, at):
    """The filled part no Fill row holds, priced from the order's average as the live
    actions price it (`ledger.parts_worth`)."""
    total = (order.average_price or Decimal(0)) * order.filled_quantity
    recorded = sum(lot.price * lot.quantity for lot in lots)
    fallback = [Part(rest, order.average_price or order.price, at)]
    return parts_worth(rest, total - recorded, at) or fallback


def _history_lots(trade):
    """The buy of an imported trade, and its sell when the history (not a live order) closed it."""
    lots = [
        _lot(
            trade.entry_order, Side.BUY, trade.quantity, trade.entry_price, trade.entry_time, trade
        )
    ]
    exit_order = trade.exit_order
    closed_in_history = exit_order is None or exit_order.source == Source.IMPORT
    if trade.closed_quantity and trade.exit_price and closed_in_history:
        at = trade.exit_time or trade.updated_at
        lots.append(_lot(exit_order, Side.SELL, trade.closed_quantity, trade.exit_price, at, trade))
    return lots


def _lot(order, side, quantity, price, at, trade=None, source=LotSource.FILL):
    holder = order if order is not None else trade
    return Lot(
        source=source,
        account=holder.account,
        symbol=order.base_symbol if order is not None else trade.symbol,
        side=side,
        quantity=quantity,
        price=price,
        at=at,
        order=order,
        manual=order is not None and order.source == Source.BROKER,
        open_quantity=quantity,
    )
