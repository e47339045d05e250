"""Fills and executions: what the bot saw fill, and the step every fill shares.

`apply_fill` is that step: the order's filled quantity, average and status, its
position, and the events, inside the caller's transaction on a locked order.
The bot's fills and the broker's cumulative figure (applied by the sync) are two
views of the same executions, so an order's filled quantity is the larger of
the two totals, never their sum.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from orderstate.actions import ledger
from orderstate.actions.base import (
    active_sell,
    change_order,
    check_transition,
    get_order,
)
from orderstate.errors import DuplicateOrder, InvalidTransition, OrderNotFound, ValidationError
from orderstate.models import EventKind, FillSource, LotSource
from orderstate.money import AVERAGE_PLACES, weighted_average
from orderstate.states import Status
from orderstate.validation import (
    parse_moment,
    parse_order_id,
    parse_price,
    parse_quantity,
    parse_symbol,
)


def mark_executed(ctx, symbol, order_id, execution_price, execution_qty=None):
    """Mark the whole order executed at `execution_price` (its average price).

    `order_id=None` means the symbol's active sell order, as the old engine kept
    one per symbol. Repeating the same execution is a no-op.
    """
    base = parse_symbol(symbol)[1]
    price = parse_price(execution_price, "execution_price", places=4)
    with transaction.atomic(durable=True):
        if order_id is None:
            order = active_sell(ctx.account, base, lock=True)
            if order is None:
                raise OrderNotFound(f"no active sell order for {base}")
        else:
            order = get_order(ctx, order_id, lock=True)
        if order.base_symbol != base:
            raise ValidationError(
                f"symbol: order {order.broker_order_id} is for {order.base_symbol}, not {base}",
                fields={"symbol": [f"order is for {order.base_symbol}"]},
            )
        qty = order.quantity if execution_qty is None else parse_quantity(execution_qty)
        if qty != order.quantity:
            raise ValidationError(
                f"execution_qty: {qty} is not the order quantity {order.quantity}; "
                "record a partial execution with record_fill",
                fields={"execution_qty": [f"must equal {order.quantity}"]},
            )
        if order.status == Status.EXECUTED:
            if order.average_price == price:
                return order
            raise InvalidTransition(
                f"order {order.broker_order_id} was already executed at "
                f"{order.average_price}, not {price}"
            )
        check_transition(order, Status.EXECUTED)
        apply_fills(
            ctx,
            order,
            rest_parts(order, order.quantity, price, order.remaining_quantity),
            kind=EventKind.EXECUTED,
            average=price,
            data={"execution_price": str(price), "execution_qty": qty},
        )
    return order


def record_fill(ctx, order_id, qty, price, fill_id=None, at=None):
    """Add one fill the bot saw; the fill that completes the quantity executes the order.

    `at` is when it executed at the exchange (default: now). A fill the sync
    already counted is recorded but moves nothing; a repeated fill id is a no-op, and
    `DuplicateOrder` when its quantity or price differ.
    """
    qty = parse_quantity(qty)
    price = parse_price(price, "price", places=4)
    fill_id = None if fill_id in (None, "") else parse_order_id(fill_id, "fill_id")
    at = parse_moment(at, "at") if at is not None else timezone.now()
    # Locked: two fills of one order must not both read the same earlier total.
    with transaction.atomic(durable=True):
        order = get_order(ctx, order_id, lock=True)
        # One query answers both: was this fill seen (by the bot or in the broker's trade
        # book), and how much the bot reported before it.
        seen = {"seen": Count("pk", filter=Q(fill_id=fill_id))} if fill_id is not None else {}
        earlier = order.fills.aggregate(
            total=Coalesce(Sum("quantity", filter=Q(source=FillSource.BOT)), 0), **seen
        )
        if earlier.get("seen"):
            _same_fill_or_conflict(order, fill_id, qty, price)
            return order
        if order.status in (Status.CANCELLED, Status.REJECTED):
            raise InvalidTransition(
                f"order {order.broker_order_id} is {order.status}; it takes no more fills"
            )
        reported = earlier["total"] + qty
        if reported > order.quantity:
            raise ValidationError(
                f"qty: fills reported for order {order.broker_order_id} would total "
                f"{reported} of {order.quantity}",
                fields={"qty": [f"at most {order.quantity - reported + qty}"]},
            )
        order.fills.create(fill_id=fill_id, quantity=qty, price=price, at=at)
        data = {"fill_id": fill_id, "qty": qty, "price": str(price)}
        counted = max(reported, order.broker_filled_quantity)
        if counted > order.filled_quantity:
            apply_fill(ctx, order, counted - order.filled_quantity, price, at=at, data=data)
        else:
            change_order(ctx, order, EventKind.FILL, data={**data, "already_counted": True})
    return order


def _same_fill_or_conflict(order, fill_id, qty, price):
    """A known fill id sent again is a retry only with the same quantity and price; with
    others it is a different fill under a taken id (409, as a registration's)."""
    # The bot's own record first, when the trade book holds the same id too.
    known = order.fills.filter(fill_id=fill_id).order_by("source").first()
    if (known.quantity, known.price) != (qty, price):
        raise DuplicateOrder(
            f"fill {fill_id} of order {order.broker_order_id} was recorded as "
            f"{known.quantity} @ {known.price}, not {qty} @ {price}",
            fields={"fill_id": [f"already recorded as {known.quantity} @ {known.price}"]},
        )


def apply_fill(ctx, order, qty, price, *, at=None, lot_source=LotSource.FILL, **options):
    """Apply `qty` more filled at `price` to a locked order (one lot); see `apply_fills`.

    `at` is when the fill executed, as well as it is known (default now);
    `lot_source` says whether it is the broker's own fill.
    """
    part = ledger.Part(qty, price, at or timezone.now(), lot_source)
    apply_fills(ctx, order, [part], **options)


def apply_fills(
    ctx,
    order,
    parts,
    *,
    kind=EventKind.FILL,
    to_status=None,
    average=None,
    late_fill=False,
    manual=False,
    data=None,
    positions=None,
    **fields,
):
    """Apply more filled to a locked order, each of `parts` (`ledger.Part`: quantity, price,
    time, source) its own lot: the order, its lots, the events, in one write.

    `average` is the broker's average when it gave one (else computed); `manual`
    marks an order placed outside the bot; `positions` (a `ledger.Positions`) saves
    a sync batch a query per order; `fields` are further order fields to write.
    """
    filled = order.filled_quantity + sum(part.quantity for part in parts)
    if to_status is None:
        to_status = Status.EXECUTED if filled == order.quantity else Status.PARTIALLY_FILLED
    if to_status == Status.EXECUTED and filled != order.quantity:
        raise ValidationError(
            f"order {order.broker_order_id} cannot execute {filled} of {order.quantity}"
        )
    if not average:
        average, counted = order.average_price, order.filled_quantity
        for part in parts:
            average = weighted_average(average, counted, part.price, part.quantity)
            counted += part.quantity
    check_transition(order, to_status, late_fill=late_fill)
    changes = ledger.post_fills(order, parts, manual=manual, positions=positions)
    trades = [change.trade for change in changes]
    change_order(
        ctx,
        order,
        kind,
        to_status=to_status,
        data=data,
        late_fill=late_fill,
        then=[change.event() for change in changes],
        filled_quantity=filled,
        average_price=Decimal(average).quantize(AVERAGE_PLACES),
        trade=trades[-1] if trades else order.trade,
        **fields,
    )


def rest_parts(order, filled, average, quantity, *, earlier=(), at=None):
    """The `quantity` shares after what `order` counted, and the `earlier` parts, that make
    `average` over `filled` (as `ledger.parts_worth`; at `average` when nothing else can)."""
    at = at or timezone.now()
    value = average * filled - (order.average_price or 0) * order.filled_quantity
    value -= sum(part.price * part.quantity for part in earlier)
    return ledger.parts_worth(quantity, value, at) or [ledger.Part(quantity, average, at)]
