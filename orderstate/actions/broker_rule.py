"""The broker rule: what one report of the broker asks of one local order. A pure function.

The sync sorts the book with it, its dry run predicts with it, and the broker
actions apply it, so what a dry run promises is what the sync does.

The broker is the authority on fills: filled quantity never goes down, and more
filled quantity on an order we closed ourselves (the bot or an operator cancelled
it while it filled at the exchange) is a late fill, applied all the same. Its
fills count whatever its status words say: a status text we do not know moves
no status, but the fills of its row are applied.

The broker shows fills two ways: the order book's cumulative `fldQty`, and its
trade book, fill by fill. Either may lag the other, so the filled quantity to
reach is the larger of the two (and of ours); fills of the trade book not yet
recorded are `exact_fills`, applied at their own prices and times.
"""

from dataclasses import dataclass
from decimal import Decimal

from orderstate.errors import ValidationError
from orderstate.money import on_tick
from orderstate.states import ACTIVE, TERMINAL, Status
from orderstate.validation import parse_quantity


@dataclass(frozen=True, slots=True)
class BrokerReport:
    """What the rule takes from one row of the broker's book."""

    status: Status | None  # None: a status text we do not know
    filled_quantity: int
    quantity: int | None = None  # the order's quantity at the broker, when the row says
    average_price: Decimal | None = None
    price: Decimal | None = None  # the order's limit price at the broker, on the tick
    broker_status: str = ""
    reason: str = ""
    fills: tuple = ()  # the order's `BrokerFill`s from the trade book, in execution order

    @classmethod
    def of(cls, broker_order, fills=()):
        """The report of a `brokers.base.BrokerOrder`, with its trade-book fills."""
        return cls(
            status=broker_order.status,
            filled_quantity=broker_order.filled_quantity,
            quantity=broker_order.quantity,
            average_price=broker_order.average_price,
            price=on_tick(broker_order.price),
            broker_status=broker_order.broker_status,
            reason=broker_order.reason,
            fills=tuple(fills),
        )

    @property
    def traded_quantity(self):
        """What the trade book shows filled."""
        return sum(fill.quantity for fill in self.fills)


@dataclass(frozen=True, slots=True)
class BrokerTarget:
    """The state a report asks for, and the names of the changes that makes (sync stats)."""

    status: Status  # for an unknown broker status: what its fills make of ours
    quantity: int  # the order's quantity: the broker's, when it changed it
    filled: int  # filled quantity to reach: never fewer than ours
    reported: int  # the broker's own figure: never fewer than it reported before
    late_fill: bool
    exact_fills: bool  # the trade book shows fills not recorded here yet
    price: Decimal | None  # a new limit price, or None when the price stays
    changes: tuple[str, ...]
    text_changed: bool  # the broker's raw status text differs from the one we noted

    @property
    def is_noop(self):
        """Nothing to write: no change, and the broker's words are the ones we noted."""
        return not self.changes and not self.text_changed


def broker_target(order, report):
    """The target for `order` (a model or any row with its fields) under `report`.

    Raises ValidationError when the broker reports more filled than ordered.
    """
    filled = parse_quantity(report.filled_quantity, "filled_quantity", allow_zero=True)
    traded = report.traded_quantity
    status = report.status
    quantity = _quantity(order, report, max(filled, traded))
    if status == Status.EXECUTED:
        filled = quantity
    filled = max(filled, traded)
    if filled > quantity:
        raise ValidationError(
            f"broker reports {filled} filled of {quantity} for {order.broker_order_id}"
        )
    reported = min(max(filled, order.broker_filled_quantity), quantity)
    filled = max(filled, order.filled_quantity)
    if filled > quantity:
        raise ValidationError(
            f"broker quantity {quantity} of {order.broker_order_id} is below the "
            f"{order.filled_quantity} already filled here"
        )
    late = order.status in TERMINAL and filled > order.filled_quantity
    unknown = status is None
    if unknown:
        status = _unknown_status(order, quantity, filled)
    elif status in ACTIVE:
        status = _active_status(order, status, quantity, filled)
    if order.status in TERMINAL and not late:
        status = order.status  # closed here, and the broker shows no more fills
    price = None
    if not unknown and status in ACTIVE and report.price not in (None, order.price):
        price = report.price
    exact = traded > order.exact_filled_quantity
    changes = _change_names(order, status, quantity, filled, late, price, unknown, exact)
    return BrokerTarget(
        status=status,
        quantity=quantity,
        filled=filled,
        reported=reported,
        late_fill=late,
        exact_fills=exact,
        price=None if late else price,
        changes=changes,
        text_changed=report.broker_status != order.broker_status,
    )


def _quantity(order, report, filled):
    """The order's quantity: the broker's (a trader may change it in the Neo app), unless
    the order is closed here and the broker shows no more fills for it."""
    if report.quantity is None or order.status == Status.EXECUTED:
        return order.quantity
    more_filled = report.status == Status.EXECUTED or filled > order.filled_quantity
    if order.status in TERMINAL and not more_filled:
        return order.quantity
    return parse_quantity(report.quantity, "quantity")


def _active_status(order, status, quantity, filled):
    """The status an order the broker still works should have, given its fills.

    A PENDING order stays PENDING on a PENDING report and opens on any other;
    an order never moves back from OPEN or PARTIALLY_FILLED on words alone.
    """
    if filled == quantity:
        return Status.EXECUTED
    if filled > 0:
        return Status.PARTIALLY_FILLED
    if order.status == Status.PENDING:
        return status if status in (Status.PENDING, Status.OPEN) else Status.OPEN
    return Status.OPEN if order.status == Status.OPEN else order.status


def _unknown_status(order, quantity, filled):
    """A status text we do not know: the row's fills count, its words move nothing.

    All of the quantity filled is an executed order whatever the words; some of
    it, an active order partly filled; none, the order stays as it is.
    """
    if filled == quantity:
        return Status.EXECUTED
    if order.status in TERMINAL:
        return order.status
    if filled > 0:
        return Status.PARTIALLY_FILLED
    return order.status


def _change_names(order, status, quantity, filled, late, price, unknown, exact):
    recorded = ("exact_fills",) if exact else ()
    if order.status == Status.EXECUTED or (order.status in TERMINAL and not late):
        return recorded
    changes = ["unknown_status"] if unknown else []
    if late:
        return (*changes, "late_fill", *recorded)
    if quantity != order.quantity:
        changes.append("quantity_changed")
    if status != order.status or filled != order.filled_quantity:
        changes.append(status.lower())
    if price is not None:
        changes.append("price_updated")
    return (*changes, *recorded)
