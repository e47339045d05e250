"""The broker's own fills (its trade book) applied to a locked order, inside the caller's
transaction.

Each fill is recorded once (`Fill` with source broker, its `flId`). A fill
either brings quantity not counted yet (a lot at its own price and time) or is
quantity counted before from the broker's cumulative figure or the bot's
report: then the lot counted for it is replaced through the ledger's replay
(`ledger.replace_with_fills`) and a `fill_corrected` event says what changed.
What the book shows filled beyond its fills (the trade book lags) is counted
from the cumulative figure, as an estimate that a later fill replaces.
"""

from dataclasses import dataclass
from decimal import Decimal

from orderstate.actions import ledger
from orderstate.actions.base import change_order
from orderstate.models import EventKind, Fill, FillSource, Lot
from orderstate.money import AVERAGE_PLACES


@dataclass(frozen=True)
class Piece:
    """Quantity newly counted on an order: from one broker fill, or estimated (`fill` None)."""

    quantity: int
    price: Decimal | None
    at: object
    fill: object = None


def unrecorded(order, fills):
    """The report's fills the order has not recorded yet (a query only if it has some)."""
    if not order.exact_filled_quantity:
        return list(fills)
    seen = set(order.fills.filter(source=FillSource.BROKER).values_list("fill_id", flat=True))
    return [fill for fill in fills if fill.fill_id not in seen]


def record(order, fills):
    """Store the broker fills (one INSERT); repeats are kept out by `unrecorded`."""
    Fill.objects.bulk_create(
        Fill(
            order=order,
            source=FillSource.BROKER,
            fill_id=fill.fill_id,
            quantity=fill.quantity,
            price=fill.price,
            at=fill.at,
        )
        for fill in fills
    )


def split(order, fills):
    """(corrections, pieces): the part of each new fill the order counted before, and the
    part it brings as new quantity, oldest fill first."""
    counted_before = order.filled_quantity - order.exact_filled_quantity
    corrections, pieces = [], []
    for fill in fills:
        covered = min(fill.quantity, max(counted_before, 0))
        counted_before -= covered
        if covered:
            corrections.append((fill, covered))
        if fill.quantity > covered:
            pieces.append(Piece(fill.quantity - covered, fill.price, fill.at, fill))
    return corrections, pieces


def correct(ctx, order, corrections, *, positions=None):
    """Replace the lots counted for `corrections` ((fill, quantity) pairs) of `order` by
    the fills' own, in one replay; one `fill_corrected` event per fill."""
    results = ledger.replace_with_fills(order, corrections, positions=positions)
    events = []
    for (fill, quantity), (replaced, lot) in zip(corrections, results, strict=True):
        data = {
            "fill_id": fill.fill_id,
            "qty": quantity,
            "price": str(fill.price),
            "at": fill.at.isoformat(),
            "replaced": replaced,
        }
        if lot is None:
            data["not_replaced"] = "no lot counted before was left to replace"
        events.append((EventKind.FILL_CORRECTED, data))
    change_order(
        ctx,
        order,
        events[0][0],
        data=events[0][1],
        then=events[1:],
        exact_filled_quantity=order.exact_filled_quantity
        + sum(quantity for _, quantity in corrections),
        average_price=lots_average(order) or order.average_price,
    )


def lots_average(order):
    """The order's average over its lots: the real fill prices where they are known."""
    rows = list(Lot.objects.filter(order=order).values_list("price", "quantity"))
    quantity = sum(count for _, count in rows)
    if not quantity:
        return None
    return (sum(price * count for price, count in rows) / quantity).quantize(AVERAGE_PLACES)
