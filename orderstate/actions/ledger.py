"""The lot ledger: every counted fill becomes a lot; positions and P&L follow from the lots,
matched first in, first out, in the order the fills executed.

Runs inside the transaction of the action that fills an order, after the order
is locked, and takes the symbol's `Position` row lock, so two fills of one
symbol queue instead of both reading the same open lots. A fill recorded in
execution order is matched from the open end (the oldest unmatched lots, read
through a partial index), so its cost does not grow with the ledger. A fill
that executed before the latest one recorded (the bot saw its sell before the
sync applied its buy) replays the ledger from the last moment the position stood
at zero, so the result is the same whatever order fills arrive in.

A sell that finds no lot is oversold: held as an unmatched sell lot and netted
against the next buy. A manual sell (an order placed outside the bot) only
reduces lots bought before it; the rest was held outside orderstate.

A lot counted before the broker's own fill was known (from the bot's report or
the broker's cumulative figure) is replaced by that fill when the trade book
shows it: same quantity, the fill's price and time, the ledger re-matched.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from orderstate.actions.book import Book, PositionChange, remember
from orderstate.models import Lot, LotMatch, LotSource, Position
from orderstate.money import AVERAGE_PLACES

__all__ = [
    "Part",
    "PositionChange",
    "Positions",
    "held",
    "lock_position",
    "post",
    "post_fills",
    "replace_with_fills",
]


def lock_position(account, symbol):
    """The symbol's Position row, locked; created on the symbol's first fill."""
    # The open trade comes in the same query; only the position row is locked (it guards the trade).
    rows = Position.objects.select_for_update(of=("self",)).select_related("open_trade")
    found = rows.filter(account=account, symbol=symbol).order_by()[:1]
    if found:
        return found[0]
    # Two first fills of one symbol at once: the database keeps one row, both lock it.
    Position.objects.bulk_create([Position(account=account, symbol=symbol)], ignore_conflicts=True)
    return rows.get(account=account, symbol=symbol)


def held(account, symbol):
    """Shares of `symbol` the ledger holds now (0 while flat or oversold)."""
    net = (
        Position.objects.filter(account=account, symbol=symbol)
        .values_list("net_quantity", flat=True)
        .first()
    )
    return max(net or 0, 0)


class Positions:
    """The Position rows of a batch's symbols, locked in one query instead of one each."""

    def __init__(self, orders):
        keys = {(order.account, order.base_symbol) for order in orders}
        Position.objects.bulk_create(
            [Position(account=account, symbol=symbol) for account, symbol in sorted(keys)],
            ignore_conflicts=True,
        )
        rows = (
            Position.objects.select_for_update(of=("self",))
            .select_related("open_trade")
            .filter(
                account__in={account for account, _ in keys},
                symbol__in={symbol for _, symbol in keys},
            )
        )
        self._rows = {
            (row.account, row.symbol): row
            for row in rows.order_by("pk")
            if (row.account, row.symbol) in keys
        }

    def get(self, account, symbol):
        return self._rows.get((account, symbol)) or lock_position(account, symbol)


@dataclass(frozen=True)
class Part:
    """Shares of one fill to post as a lot: how many, at what price and time, from where."""

    quantity: int
    price: Decimal
    at: datetime
    source: str = LotSource.FILL


def parts_worth(quantity, value, at, source=LotSource.FILL):
    """`quantity` shares costing `value` in all, as parts whose lots add up to it exactly.

    A price has four places, so 3 shares worth 10348 are 2 @ 3449.3333 and
    1 @ 3449.3334, where one rounded price would lose a ten-thousandth of a rupee
    per inferred fill. None when the value gives no positive price.
    """
    units = int((value / AVERAGE_PLACES).to_integral_value())
    low, extra = divmod(units, quantity)
    if low <= 0:
        return None
    counts = ((quantity - extra, low), (extra, low + 1))
    return [Part(count, unit * AVERAGE_PLACES, at, source) for count, unit in counts if count]


def post_fills(order, parts, *, manual=False, positions=None):
    """Record fills of `order` (`Part`s) in its symbol's ledger, one lot each; returns the
    PositionChanges they made.

    `manual` marks an order placed outside the bot; `positions` (a `Positions`)
    saves a sync batch a query per order. Fills in execution order after the
    ledger's latest go through one book and one save; an earlier one replays.
    """
    lots = [
        Lot(
            source=part.source,
            account=order.account,
            symbol=order.base_symbol,
            side=order.side,
            quantity=part.quantity,
            price=part.price,
            at=part.at,
            order=order,
            manual=manual,
            open_quantity=part.quantity,
        )
        for part in sorted(parts, key=lambda part: part.at)
    ]
    if len(lots) == 1:
        return post(lots[0], positions)
    position = _position(order.account, order.base_symbol, positions)
    if position.last_at is not None and lots[0].at < position.last_at:
        return [change for lot in lots for change in _post_to(position, lot)]
    book = Book(position)
    changes = [change for lot in lots for change in book.apply(lot)]
    book.save()
    return changes


def _position(account, symbol, positions):
    if positions is not None:
        return positions.get(account, symbol)
    return lock_position(account, symbol)


def post(lot, positions=None):
    """Record a new lot in its symbol's ledger; returns the PositionChanges it made."""
    return _post_to(_position(lot.account, lot.symbol, positions), lot)


def _post_to(position, lot):
    if position.last_at is not None and lot.at < position.last_at:
        lot.save()
        return replay(position, lot)
    book = Book(position)
    changes = book.apply(lot)
    book.save()
    return changes


def replay(position, late_lot):
    """Re-match every lot since the position last stood at zero before `late_lot`.

    Lots before that moment are all matched among themselves, so they stay as
    they are. Returns the changes `late_lot` itself made.
    """
    return rematch(position, late_lot.at, late_lot.id).get(late_lot.pk, [])


def rematch(position, at, lot_id):
    """Re-match every lot since the last flat point before (`at`, `lot_id`); returns
    {lot pk: the changes it made}."""
    flat = (
        Lot.objects.filter(account=position.account, symbol=position.symbol, position_after=0)
        .filter(Q(at__lt=at) | Q(at=at, id__lt=lot_id))
        .order_by("-at", "-id")
        .first()
    )
    since = Lot.objects.filter(account=position.account, symbol=position.symbol)
    if flat is not None:
        since = since.filter(Q(at__gt=flat.at) | Q(at=flat.at, id__gt=flat.id))
    # Remembered as read, before parts fold back into their first lot.
    lots = [remember(lot) for lot in since.select_related("order", "trade").order_by("at", "id")]
    lots, merged = _merge_parts(lots)
    LotMatch.objects.filter(Q(buy__in=lots) | Q(sell__in=lots)).delete()
    if merged:
        Lot.objects.filter(pk__in=[lot.pk for lot in merged]).delete()
    trades = sorted(
        {lot.trade for lot in lots if lot.trade is not None}
        | ({position.open_trade} if position.open_trade else set()),
        key=lambda trade: (trade.entry_time, trade.pk),
    )
    position.net_quantity = 0
    position.open_trade = None
    book = Book(position, replaying=True, reusable=trades)
    changes = {}
    for lot in lots:
        lot.open_quantity = lot.quantity
        lot.outside_quantity = 0
        lot.trade = None
        changes[lot.pk] = book.apply(lot)
    book.save()
    return changes


def replace_with_fills(order, fills, *, positions=None):
    """Replace lots of `order` counted before its own fills were known by the fills' lots
    (their prices and times), and re-match the ledger once, from before the earliest lot
    touched. `fills` are (fill, quantity) pairs, oldest first; the oldest lots are
    replaced first. Returns, per fill, (what it replaced, its lot or None when no such
    lot was left): nothing is ever counted twice.
    """
    position = _position(order.account, order.base_symbol, positions)
    lots = list(
        Lot.objects.filter(order=order).exclude(source=LotSource.TRADE_BOOK).order_by("at", "id")
    )
    sizes = defaultdict(int)  # a root lot's quantity with the parts split from it
    for lot in lots:
        sizes[lot.part_of_id or lot.pk] += lot.quantity
    roots = [lot for lot in lots if lot.part_of_id is None]
    if not roots:
        return [([], None) for _ in fills]
    left = {root.pk: sizes[root.pk] for root in roots}
    results, new_lots = [], []
    for fill, quantity in fills:
        replaced, wanted = [], quantity
        for root in roots:
            taken = min(left[root.pk], wanted)
            if taken:
                left[root.pk] -= taken
                wanted -= taken
                replaced.append(
                    {"quantity": taken, "price": str(root.price), "at": root.at.isoformat()}
                )
        lot = None
        if quantity > wanted:
            lot = Lot(
                account=order.account,
                symbol=order.base_symbol,
                side=order.side,
                quantity=quantity - wanted,
                price=fill.price,
                at=fill.at,
                order=order,
                manual=roots[0].manual,
                source=LotSource.TRADE_BOOK,
                open_quantity=0,
            )
            new_lots.append(lot)
        results.append((replaced, lot))
    touched = [root for root in roots if left[root.pk] != sizes[root.pk]]
    if not touched:
        return results
    parts = [lot.pk for lot in lots if lot.part_of_id in {root.pk for root in touched}]
    if parts:
        Lot.objects.filter(pk__in=parts).delete()
    emptied = [root for root in touched if not left[root.pk]]
    starts = [(root.at, root.pk) for root in touched]
    for root in touched:
        if left[root.pk]:
            Lot.objects.filter(pk=root.pk).update(
                quantity=left[root.pk], open_quantity=0, outside_quantity=0
            )
    # An emptied lot's row takes a fill's lot: an UPDATE instead of a DELETE and an INSERT.
    for lot in new_lots:
        if emptied:
            lot.pk = emptied.pop().pk
        lot.save()
        starts.append((lot.at, lot.pk))
    if emptied:
        Lot.objects.filter(pk__in=[root.pk for root in emptied]).delete()
    # The latest lot may be gone: the replay finds the position's last time again.
    position.last_at = None
    rematch(position, *min(starts))
    return results


def _merge_parts(lots):
    """Lots with the parts of a split fill folded back into the fill's first lot."""
    by_pk = {lot.pk: lot for lot in lots}
    kept, merged = [], []
    for lot in lots:
        root = by_pk.get(lot.part_of_id)
        if root is not None:
            root.quantity += lot.quantity
            merged.append(lot)
        else:
            kept.append(lot)
    return kept, merged
