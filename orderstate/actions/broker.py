"""The broker's view applied to our orders: reports of known orders, orders placed
outside the bot, and the sync's bookkeeping (seen unchanged, missing from the book).

Only the sync (and later the order feed) calls these. What a report asks of an
order is decided by `broker_rule.broker_target`; this module writes it.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from orderstate.actions import broker_fills, failed_orders, ledger, outbox
from orderstate.actions.base import (
    active_sell,
    change_order,
    check_transition,
    find_order,
    get_order,
    lock_orders,
    note_broker_view,
    write_event,
)
from orderstate.actions.broker_rule import BrokerReport, broker_target
from orderstate.actions.fills import apply_fills, rest_parts
from orderstate.actions.orders import close, insert_order, order_fields, set_price
from orderstate.errors import DuplicateOrder, OrderNotFound, ValidationError
from orderstate.models import EventKind, LotSource, Order, OrderEvent, OrderType, Product, Side
from orderstate.money import on_tick
from orderstate.states import ACTIVE, Status

MANUAL_TRADES = ("manual_sell", "manual_buy")
STATUS_EVENT = {Status.CANCELLED: EventKind.CANCELLED, Status.REJECTED: EventKind.REJECTED}


def apply_broker_update(ctx, order_id, report):
    """Make one order follow a `BrokerReport`; returns (order, changes)."""
    with transaction.atomic(durable=True):
        order = get_order(ctx, order_id, lock=True)
        return order, follow_broker(ctx, order, report)


def apply_broker_updates(ctx, reports):
    """Apply (order pk, `BrokerReport`) pairs in one transaction; changes or an exception each.

    One commit for many orders is what lets a sync that changes thousands of
    orders finish in seconds; a crash before it leaves every order of the batch
    untouched. When a report fails, the batch is rolled back and applied again
    with a savepoint per order, so the failing one is rolled back alone and comes
    back as its exception while the others commit together.
    """
    try:
        return _apply_batch_at_once(ctx, reports)
    except Exception:
        return _apply_batch_one_by_one(ctx, reports)


def _apply_batch_at_once(ctx, reports):
    """The common case: the open trades locked in one query, the events in one INSERT."""
    events = []
    batch = ctx.buffering(events)
    with transaction.atomic(durable=True):
        orders = lock_orders(pk for pk, _ in reports)
        positions = ledger.Positions(orders.values())
        outcomes = [
            follow_broker(batch, orders[pk], report, positions=positions) for pk, report in reports
        ]
        OrderEvent.objects.bulk_create(events, batch_size=500)
        outbox.enqueue(events, ctx.account)
    return outcomes


def _apply_batch_one_by_one(ctx, reports):
    with transaction.atomic(durable=True):
        orders = lock_orders(pk for pk, _ in reports)
        outcomes = []
        for pk, report in reports:
            try:
                with transaction.atomic():
                    if pk not in orders:
                        raise OrderNotFound(f"no order with primary key {pk}")
                    outcomes.append(follow_broker(ctx, orders[pk], report))
            except Exception as exc:  # handed back to the caller, one per order
                outcomes.append(exc)
    return outcomes


def follow_broker(ctx, order, report, *, positions=None, manual=False):
    """Apply a report to a locked order inside the caller's transaction; returns the changes.

    `manual` marks an order placed outside the bot. The trade book's fills count
    at their own prices and times (`broker_fills`); what only the cumulative
    figure shows is dated the earliest it can have happened: after the order was
    placed and after the last sync that saw it unfilled.
    """
    now = timezone.now()
    filled_since = max(filter(None, (order.placed_at, order.last_synced_at)), default=now)
    target = broker_target(order, report)
    if not target.changes:
        note_broker_view(order, report.broker_status, target.reported, now)
        return []
    next_status = target.status
    # A late fill applies the filled part; the order stays closed unless the
    # broker still works it and no newer sell order for the symbol took its place.
    if (
        target.late_fill
        and next_status != Status.EXECUTED
        and (next_status not in ACTIVE or not _can_reactivate(order))
    ):
        next_status = order.status
    if target.quantity != order.quantity:
        # Before the fills, which count against the broker's quantity.
        change = {"from": order.quantity, "to": target.quantity, "by": "broker"}
        change_order(ctx, order, EventKind.QUANTITY_CHANGED, data=change, quantity=target.quantity)
    common = {
        "broker_status": report.broker_status[:64],
        "broker_filled_quantity": target.reported,
        "last_synced_at": now,
        "missing_count": 0,
    }
    if next_status in (Status.CANCELLED, Status.REJECTED) and not target.late_fill:
        common["status_reason"] = report.reason or order.status_reason
    fills = broker_fills.unrecorded(order, report.fills) if target.exact_fills else []
    broker_fills.record(order, fills)
    corrections, pieces = broker_fills.split(order, fills)
    if corrections:
        broker_fills.correct(ctx, order, corrections, positions=positions)
    counted = order.filled_quantity + sum(piece.quantity for piece in pieces)
    if target.filled > counted:
        pieces.append(broker_fills.Piece(target.filled - counted, None, min(filled_since, now)))
    if pieces:
        _apply_pieces(ctx, order, report, target, next_status, pieces, positions, manual, common)
    elif next_status != order.status:
        check_transition(order, next_status)
        change_order(
            ctx,
            order,
            STATUS_EVENT.get(next_status, EventKind.STATUS_CHANGED),
            to_status=next_status,
            data={"broker_status": report.broker_status, "reason": report.reason},
            **common,
        )
    else:
        note_broker_view(order, report.broker_status, target.reported, now)
    if target.price is not None:
        set_price(ctx, order, target.price, by="broker")
    return list(target.changes)


def _apply_pieces(ctx, order, report, target, next_status, pieces, positions, manual, common):
    """Count the new quantity in one write, a lot per piece: a broker fill at its price and
    time, or the rest the cumulative figure shows at the price that makes its average."""
    if target.late_fill:
        kind = EventKind.LATE_FILL
    else:
        kind = EventKind.EXECUTED if next_status == Status.EXECUTED else EventKind.FILL
    parts, fills = [], []
    for piece in pieces:
        if piece.fill is None:  # the rest, always the last piece
            parts += _rest_parts(order, target.filled, report, parts, piece)
            continue
        price = piece.fill.price
        fills.append({"fill_id": piece.fill.fill_id, "qty": piece.quantity, "price": str(price)})
        parts.append(ledger.Part(piece.quantity, price, piece.at, LotSource.TRADE_BOOK))
    exact = sum(part.quantity for part in parts if part.source == LotSource.TRADE_BOOK)
    data = {"filled_quantity": target.filled, "broker_status": report.broker_status}
    if fills:
        data["fills"] = fills
    # The broker's average holds when it covers every share counted.
    covers = report.filled_quantity == target.filled
    apply_fills(
        ctx,
        order,
        parts,
        kind=kind,
        to_status=next_status,
        average=report.average_price if _positive(report.average_price) and covers else None,
        late_fill=target.late_fill,
        manual=manual,
        positions=positions,
        data=data,
        exact_filled_quantity=order.exact_filled_quantity + exact,
        **common,
    )


def _can_reactivate(order):
    if order.side != Side.SELL:
        return True
    return active_sell(order.account, order.base_symbol, lock=True) is None


def _positive(price):
    return price is not None and price > 0


def _rest_parts(order, filled, report, parts, piece):
    """The `piece` no fill shows yet: at what makes the broker's cumulative average over
    `filled`, after what the order counted before and the fills of `parts`."""
    if _positive(report.average_price):
        average = Decimal(str(report.average_price))
        return rest_parts(order, filled, average, piece.quantity, earlier=parts, at=piece.at)
    fallback = report.price or order.price or order.average_price
    if not fallback:
        raise ValidationError(f"broker gives no price for the fill of {order.broker_order_id}")
    return [ledger.Part(piece.quantity, fallback, piece.at)]


# Orders placed outside the bot -------------------------------------------------------


def record_broker_order(ctx, broker_order, fills=()):
    """Record a broker order we never registered (source=broker); returns (order, changes).

    One transaction holds the whole story, so a crash leaves all or none of it.
    The order's fills go into the ledger as manual: a manual sell only reduces
    lots bought before it. When it leaves nothing held (the trader sold the
    position by hand), the bot's sell order for the symbol stops being tracked;
    a partial manual sell leaves the bot's live sell alone (check_state flags a
    sell that now covers more than is held). A filled BUY of a symbol in the
    failed-buy queue (a manual buy) takes the symbol out of the queue. Either
    writes a `manual_trade` event, which notifications may want.
    """
    bo = broker_order
    changes = []
    with transaction.atomic(durable=True):
        held_before = ledger.held(ctx.account, bo.base_symbol)
        order = insert_order(ctx, broker_order_fields(ctx, bo))
        # Registered by the bot since the book was read: follow the broker like any known order.
        known = order is None
        if known:
            order = find_order(ctx, bo.order_id, lock=True)
            if order is None:
                raise DuplicateOrder(f"broker order {bo.order_id} conflicts; retry")
        if known or order.status in ACTIVE:
            report = BrokerReport.of(bo, fills)
            changes.extend(follow_broker(ctx, order, report, manual=not known))
        if not known and bo.side == Side.SELL and bo.filled_quantity and held_before > 0:
            changes.append("manual_sell")
            _stop_tracking_if_sold_out(ctx, bo)
        if (
            bo.side == Side.BUY
            and bo.filled_quantity > 0
            and failed_orders.resolve(ctx, bo.base_symbol, bo.order_id, manual=True)
        ):
            changes.append("manual_buy")
        manual = [change for change in changes if change in MANUAL_TRADES]
        if manual:
            write_event(
                ctx,
                order,
                EventKind.MANUAL_TRADE,
                order.status,
                order.status,
                {
                    "trade": manual[0],
                    "side": bo.side,
                    "quantity": bo.filled_quantity,
                    "price": str(bo.average_price or bo.price or ""),
                },
            )
    return order, changes


def _stop_tracking_if_sold_out(ctx, bo):
    if ledger.held(ctx.account, bo.base_symbol) > 0:
        return
    bot_sell = active_sell(ctx.account, bo.base_symbol, lock=True)
    if bot_sell is not None:
        reason = f"sold manually at the broker (order {bo.order_id})"
        close(ctx, bot_sell, Status.CANCELLED, reason)


def broker_order_fields(ctx, bo):
    """Fields of a broker order as first seen: OPEN, or its final state if it never filled."""
    price, trigger = on_tick(bo.price), on_tick(bo.trigger_price)
    order_type = bo.order_type
    if price is None and order_type in (OrderType.LIMIT, OrderType.SL):
        order_type = OrderType.MARKET  # the book shows no usable limit price
    product = str(bo.raw.get("prod", "")).upper()
    fields = order_fields(
        ctx,
        bo.side,
        bo.symbol,
        bo.order_id,
        price,
        bo.quantity,
        exchange=bo.exchange,
        order_type=order_type,
        variety=bo.variety,
        product=product if product in Product.values else Product.CNC,
        trigger_price=trigger,
        placed_at=bo.placed_at,
    )
    fields["status"] = Status.OPEN
    fields["broker_status"] = bo.broker_status[:64]
    if bo.filled_quantity == 0 and bo.status in (Status.CANCELLED, Status.REJECTED):
        fields.update(status=bo.status, status_reason=bo.reason, closed_at=fields["updated_at"])
    return fields


# The sync's bookkeeping ----------------------------------------------------------------


def mark_synced(order_pks, at=None):
    """Stamp orders seen unchanged in the broker's book: one UPDATE per chunk.

    Bookkeeping only, so no event and no version bump: a sync that changes
    nothing must not make every ETag the bot holds stale.
    """
    at = at or timezone.now()
    pks = list(order_pks)
    with transaction.atomic(durable=True):
        for start in range(0, len(pks), 500):
            Order.objects.filter(pk__in=pks[start : start + 500]).update(
                last_synced_at=at, missing_count=0
            )


def mark_missing(ctx, order_pks, threshold):
    """Count one more miss for orders absent from the book; flag them at `threshold`."""
    flagged = []
    with transaction.atomic(durable=True):
        for order in lock_orders(order_pks).values():
            if order.status not in ACTIVE:
                continue
            count = order.missing_count + 1
            kind = EventKind.FLAGGED if count == threshold else EventKind.MISSING
            change_order(ctx, order, kind, data={"missing_count": count}, missing_count=count)
            if count >= threshold:
                flagged.append(order)
    return flagged
