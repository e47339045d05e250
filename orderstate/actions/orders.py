"""Orders: registration, price changes, stopping tracking, and operators' notes.

Creating a row and changing one race differently. To change an order, lock it
and decide on the locked row. To register one, let the database decide: the
insert's unique-constraint violation becomes the idempotent answer,
`DuplicateOrder`, or (with `replace`) the cancel of the symbol's active sell.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from orderstate.actions.base import (
    active_sell,
    change_order,
    check_transition,
    check_version,
    find_order,
    get_order,
    metadata_change,
    write_event,
)
from orderstate.errors import DuplicateOrder, InvalidTransition, ValidationError
from orderstate.models import EventKind, Order, OrderType, Product, Side, Variety
from orderstate.states import ACTIVE, Status, parse_status
from orderstate.validation import (
    default_order_type,
    parse_choice,
    parse_metadata,
    parse_optional_price,
    parse_order_id,
    parse_price,
    parse_quantity,
    parse_reason,
    parse_symbol,
    parse_text,
    parse_ticker,
)

# Fields whose difference makes a repeated registration a different order.
IDENTITY_FIELDS = ("side", "base_symbol", "quantity", "price", "trigger_price", "order_type")


def order_fields(
    ctx,
    side,
    symbol,
    order_id,
    price,
    qty,
    ticker=None,
    *,
    exchange="NSE",
    order_type=None,
    variety=Variety.REGULAR,
    product=Product.CNC,
    trigger_price=None,
    status=Status.PENDING,
    placed_at=None,
    metadata=None,
):
    """A new order's fields, every one checked; ValidationError before anything is written.

    Without an order type, a BUY without a price is a MARKET order and anything
    else a LIMIT order.
    """
    side = parse_choice(side, Side, "side")
    trading_symbol, base = parse_symbol(symbol)
    price = parse_optional_price(price, "price")
    order_type = parse_choice(
        order_type or default_order_type(side, price), OrderType, "order_type"
    )
    if price is None and order_type in (OrderType.LIMIT, OrderType.SL):
        raise ValidationError(
            f"price: a {order_type} order needs a price", fields={"price": ["required"]}
        )
    status = parse_status(status)
    if status not in (Status.PENDING, Status.OPEN):
        raise ValidationError(
            "status: a new order starts PENDING or OPEN", fields={"status": ["invalid"]}
        )
    now = timezone.now()
    return {
        "account": ctx.account,
        "broker_order_id": parse_order_id(order_id),
        "symbol": trading_symbol,
        "base_symbol": base,
        "ticker": parse_ticker(ticker),
        "exchange": (parse_text(exchange, "exchange", 1000) or "NSE").upper()[:8],
        "side": side,
        "order_type": order_type,
        "variety": parse_choice(variety, Variety, "variety"),
        "product": parse_choice(product, Product, "product"),
        "quantity": parse_quantity(qty),
        "price": price,
        "trigger_price": parse_optional_price(trigger_price, "trigger_price"),
        "status": status,
        "placed_at": placed_at or now,
        "updated_at": now,
        "metadata": parse_metadata(metadata or {}),
        "source": ctx.order_source,
    }


def register_order(ctx, fields, *, replace=False):
    """Create the order `fields` describe; returns (order, created).

    The common case, a new order, is one short transaction of two INSERTs with
    no savepoint. A refused insert is resolved in a second transaction.
    """
    try:
        with transaction.atomic(durable=True):
            return _create(ctx, fields), True
    except IntegrityError:
        pass
    with transaction.atomic(durable=True):
        existed = find_order(ctx, fields["broker_order_id"], lock=True)
        return resolve_conflict(ctx, fields, replace), existed is None


def insert_order(ctx, fields):
    """Insert the order and its event inside the caller's transaction; None when refused.

    A savepoint keeps the caller's transaction usable after a unique-constraint refusal.
    """
    try:
        with transaction.atomic():
            return _create(ctx, fields)
    except IntegrityError:
        return None


def _create(ctx, fields):
    order = Order.objects.create(**fields)
    write_event(ctx, order, EventKind.REGISTERED, "", order.status, order.registration_summary())
    return order


def resolve_conflict(ctx, fields, replace):
    """The answer to a refused insert, decided on locked rows."""
    existing = find_order(ctx, fields["broker_order_id"], lock=True)
    if existing is not None:
        differences = {
            name: {"existing": str(getattr(existing, name)), "requested": str(fields[name])}
            for name in IDENTITY_FIELDS
            if getattr(existing, name) != fields[name]
        }
        if differences:
            raise DuplicateOrder(
                f"order {existing.broker_order_id} already exists with other "
                f"{', '.join(differences)}",
                fields=differences,
            )
        return existing
    current = active_sell(fields["account"], fields["base_symbol"], lock=True)
    if current is not None and not replace:
        raise DuplicateOrder(
            f"{fields['base_symbol']} already has an active sell order "
            f"{current.broker_order_id}; pass replace=true to replace it",
            fields={"symbol": [f"active sell order {current.broker_order_id} exists"]},
        )
    if current is not None:
        change_order(
            ctx,
            current,
            EventKind.REPLACED,
            to_status=Status.CANCELLED,
            data={"replaced_by": fields["broker_order_id"]},
            status_reason=f"replaced by {fields['broker_order_id']}",
        )
    # Without an active sell, the conflicting row was closed or removed between our
    # insert and this read: the second insert lets the database decide again.
    order = insert_order(ctx, fields)
    if order is None:
        raise DuplicateOrder(f"order {fields['broker_order_id']} conflicts; retry")
    return order


# Price -----------------------------------------------------------------------------


def update_sell_order_price(ctx, symbol, new_price):
    """Move the symbol's active sell order to a new target; False when there is none."""
    base = parse_symbol(symbol)[1]
    price = parse_price(new_price, "new_price")
    with transaction.atomic(durable=True):
        order = active_sell(ctx.account, base, lock=True)
        if order is None:
            return False
        set_price(ctx, order, price)
    return True


def update_price(ctx, order_id, new_price, expected_version=None):
    price = parse_price(new_price, "price")
    with transaction.atomic(durable=True):
        order = get_order(ctx, order_id, lock=True)
        check_version(order, expected_version)
        if order.status not in ACTIVE:
            raise InvalidTransition(
                f"order {order.broker_order_id} is {order.status}; its price is final"
            )
        set_price(ctx, order, price)
    return order


def set_price(ctx, order, price, **data):
    if order.price == price:
        return
    change = {"from": str(order.price), "to": str(price), **data}
    change_order(ctx, order, EventKind.PRICE_UPDATED, data=change, price=price)


# Tracking ------------------------------------------------------------------------------


def closing_status(status):
    status = parse_status(status)
    if status not in (Status.CANCELLED, Status.REJECTED):
        raise ValidationError(
            f"status: stop tracking as CANCELLED or REJECTED, not {status}",
            fields={"status": ["must be CANCELLED or REJECTED"]},
        )
    return status


def remove_from_tracking(ctx, symbol, reason=None, status=Status.CANCELLED):
    """Stop tracking the symbol's active sell order; False when nothing is tracked."""
    base = parse_symbol(symbol)[1]
    status = closing_status(status)
    reason = parse_reason(reason)
    with transaction.atomic(durable=True):
        order = active_sell(ctx.account, base, lock=True)
        if order is None:
            return False
        close(ctx, order, status, reason)
    return True


def cancel_order(ctx, order_id, reason=None, status=Status.CANCELLED, expected_version=None):
    """Stop tracking one order as CANCELLED or REJECTED; repeating it is a no-op."""
    status = closing_status(status)
    reason = parse_reason(reason)
    with transaction.atomic(durable=True):
        order = get_order(ctx, order_id, lock=True)
        check_version(order, expected_version)
        if order.status == status:
            return order
        check_transition(order, status)
        close(ctx, order, status, reason)
    return order


def close(ctx, order, status, reason):
    kind = EventKind.CANCELLED if status == Status.CANCELLED else EventKind.REJECTED
    change_order(ctx, order, kind, to_status=status, data={"reason": reason}, status_reason=reason)


# Operators' notes ----------------------------------------------------------------------


def update_metadata(ctx, order_id, metadata, note=""):
    """Replace an order's metadata and/or add an operator's note, both audited.

    Status, quantities and prices are untouched; the version moves so a client
    holding the old ETag sees that the order changed.
    """
    metadata = parse_metadata(metadata)
    note = parse_reason(note, "note", max_length=2000)
    with transaction.atomic(durable=True):
        order = get_order(ctx, order_id, lock=True)
        if metadata == order.metadata and not note:
            return order
        data = metadata_change(order.metadata, metadata)
        if note:
            data["note"] = note
        change_order(ctx, order, EventKind.NOTE, data=data, metadata=metadata)
    return order
