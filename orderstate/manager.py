"""OrderStateManager: the one door through which order state changes.

Every public method that writes is one `transaction.atomic()` block that locks
the rows it changes, decides on the locked rows, bumps `Order.version` and
writes an `OrderEvent`. A failure anywhere rolls the whole change back.
"""

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from orderstate.actions import failed_orders, positions
from orderstate.errors import (
    DuplicateOrder,
    InvalidTransition,
    OrderNotFound,
    StaleVersion,
    ValidationError,
)
from orderstate.history import HistoryVerbs
from orderstate.legacy import shapes
from orderstate.models import (
    DEFAULT_ACCOUNT,
    EventKind,
    EventSource,
    Order,
    OrderEvent,
    OrderType,
    Product,
    Side,
    Source,
    Trade,
    Variety,
)
from orderstate.states import ACTIVE, TERMINAL, Status, can_transition, parse_status
from orderstate.validation import (
    parse_choice,
    parse_metadata,
    parse_optional_price,
    parse_order_id,
    parse_price,
    parse_quantity,
    parse_reason,
    parse_symbol,
)

log = logging.getLogger(__name__)

ORDER_SOURCE_FOR_EVENT = {
    EventSource.SYNC: Source.BROKER,
    EventSource.IMPORT: Source.IMPORT,
    EventSource.ADMIN: Source.ADMIN,
}
# Fields whose difference makes a repeated registration a different order.
IDENTITY_FIELDS = ("side", "base_symbol", "quantity", "price", "trigger_price", "order_type")
AVERAGE_PLACES = positions.AVERAGE_PLACES
_TICK = Decimal("0.01")


class OrderStateManager(HistoryVerbs):
    """Order verbs with the names the old bot used.

    `source` says where a change comes from (api, sync, admin, import, cli, bot,
    dashboard) and `actor` which user made it; both land in every event.
    """

    def __init__(self, source=EventSource.BOT, actor=None, account=DEFAULT_ACCOUNT):
        if source not in EventSource.values:
            raise ValidationError(
                f"source: {source!r} is not one of {', '.join(EventSource.values)}"
            )
        self.source = EventSource(source)
        self.actor = actor if getattr(actor, "is_authenticated", False) else None
        self.account = account
        # Events of a sync batch, written in one INSERT when the batch is done.
        self._batch_events = None

    # Registration ------------------------------------------------------

    def register_sell_order(self, symbol, order_id, target_price, qty, ticker=None, **kwargs):
        return self.register_order(Side.SELL, symbol, order_id, target_price, qty, ticker, **kwargs)

    def register_buy_order(self, symbol, order_id, price=None, qty=None, ticker=None, **kwargs):
        kwargs.setdefault("order_type", OrderType.MARKET if price is None else OrderType.LIMIT)
        return self.register_order(Side.BUY, symbol, order_id, price, qty, ticker, **kwargs)

    def register_order(
        self, side, symbol, order_id, price, qty, ticker=None, *, replace=False, **options
    ):
        """Create an order; a repeat with the same fields returns the existing one.

        `options` may hold account, exchange, order_type, variety, product,
        trigger_price, status (PENDING or OPEN) and placed_at; anything else is
        the bot's metadata. The database decides races: a unique-constraint
        violation of the insert becomes the idempotent answer, DuplicateOrder, or
        (with `replace`) the cancel of the symbol's active sell.
        """
        fields = self._order_fields(side, symbol, order_id, price, qty, ticker, options)
        order = self._insert(fields)
        if order is None:
            with transaction.atomic():
                order = self._resolve_conflict(fields, replace)
        return order

    def _order_fields(self, side, symbol, order_id, price, qty, ticker, options):
        options = dict(options)
        account = options.pop("account", None)
        exchange = options.pop("exchange", "NSE")
        order_type = options.pop("order_type", OrderType.LIMIT)
        variety = options.pop("variety", Variety.REGULAR)
        product = options.pop("product", Product.CNC)
        trigger_price = options.pop("trigger_price", None)
        status = options.pop("status", Status.PENDING)
        placed_at = options.pop("placed_at", None)
        metadata = options
        side = parse_choice(side, Side, "side")
        trading_symbol, base = parse_symbol(symbol)
        order_type = parse_choice(order_type, OrderType, "order_type")
        price = parse_optional_price(price, "price")
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
            "account": account or self.account,
            "broker_order_id": parse_order_id(order_id),
            "symbol": trading_symbol,
            "base_symbol": base,
            "ticker": (ticker or "").strip()[:40],
            "exchange": (exchange or "NSE").strip().upper()[:8],
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
            "metadata": parse_metadata(metadata),
            "source": ORDER_SOURCE_FOR_EVENT.get(self.source, Source.BOT),
        }

    def _insert(self, fields):
        """Insert the order and its event; None when a unique constraint refuses it.

        Called outside a transaction (the common case: a new order) this is one
        short transaction of two INSERTs; inside one, a savepoint keeps the
        caller's transaction usable after a refusal.
        """
        try:
            with transaction.atomic():
                order = Order.objects.create(**fields)
                self.log_event(
                    order, EventKind.REGISTERED, "", order.status, order.registration_summary()
                )
        except IntegrityError:
            return None
        return order

    def _resolve_conflict(self, fields, replace):
        existing = self._find(fields["broker_order_id"], fields["account"], lock=True)
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
        active = self._active_sell(fields["base_symbol"], fields["account"], lock=True)
        if active is None:
            # The conflicting row was closed or removed between our insert and this
            # read; the second insert lets the database decide again.
            order = self._insert(fields)
            if order is None:
                raise DuplicateOrder(f"order {fields['broker_order_id']} conflicts; retry")
            return order
        if not replace:
            raise DuplicateOrder(
                f"{fields['base_symbol']} already has an active sell order "
                f"{active.broker_order_id}; pass replace=true to replace it",
                fields={"symbol": [f"active sell order {active.broker_order_id} exists"]},
            )
        self._change(
            active,
            EventKind.REPLACED,
            to_status=Status.CANCELLED,
            data={"replaced_by": fields["broker_order_id"]},
            status_reason=f"replaced by {fields['broker_order_id']}",
        )
        order = self._insert(fields)
        if order is None:
            raise DuplicateOrder(f"order {fields['broker_order_id']} conflicts; retry")
        return order

    # Registration that says whether it created the order (API: 201 or 200) -

    def register_or_get(
        self, side, symbol, order_id, price, qty, ticker=None, *, replace=False, **options
    ):
        """`register_order`, returning (order, created): False for an identical repeat."""
        fields = self._order_fields(side, symbol, order_id, price, qty, ticker, options)
        order = self._insert(fields)
        if order is not None:
            return order, True
        with transaction.atomic():
            existed = self._find(fields["broker_order_id"], fields["account"], lock=True)
            return self._resolve_conflict(fields, replace), existed is None

    # Fills and execution ----------------------------------------------

    def mark_order_executed(self, symbol, order_id, execution_price, execution_qty=None):
        """Mark the whole order executed at `execution_price` (its average price).

        `order_id=None` means the symbol's active sell order, as the old engine kept
        one per symbol. Repeating the same execution is a no-op.
        """
        base = parse_symbol(symbol)[1]
        price = parse_price(execution_price, "execution_price", places=4)
        with transaction.atomic():
            if order_id is None:
                order = self._active_sell(base, self.account, lock=True)
                if order is None:
                    raise OrderNotFound(f"no active sell order for {base}")
            else:
                order = self._get(order_id, lock=True)
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
            self._check_transition(order, Status.EXECUTED)
            self._fill(
                order,
                order.remaining_quantity,
                _remainder_price(order, order.quantity, price),
                kind=EventKind.EXECUTED,
                average=price,
                data={"execution_price": str(price), "execution_qty": qty},
            )
        return order

    def record_fill(self, order_id, qty, price, fill_id=None):
        """Add one fill the bot saw; the fill that completes the quantity executes the order.

        The bot's fills and the broker's cumulative figure (applied by the sync)
        are two views of the same executions, so the order's filled quantity is
        the larger of the two totals: a fill the sync already counted is recorded
        but moves nothing.
        """
        qty = parse_quantity(qty)
        price = parse_price(price, "price", places=4)
        fill_id = None if fill_id in (None, "") else parse_order_id(fill_id, "fill_id")
        with transaction.atomic():
            order = self._get(order_id, lock=True)
            # One query answers both: was this fill seen, and how much was reported before it.
            seen = {"seen": Count("pk", filter=Q(fill_id=fill_id))} if fill_id is not None else {}
            earlier = order.fills.aggregate(total=Coalesce(Sum("quantity"), 0), **seen)
            if earlier.get("seen"):
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
            order.fills.create(fill_id=fill_id, quantity=qty, price=price)
            data = {"fill_id": fill_id, "qty": qty, "price": str(price)}
            counted = max(reported, order.broker_filled_quantity)
            if counted > order.filled_quantity:
                self._fill(order, counted - order.filled_quantity, price, data=data)
            else:
                self._change(order, EventKind.FILL, data={**data, "already_counted": True})
        return order

    def apply_broker_update(self, order_id, *, account=None, **report):
        """Make one order follow the broker's view of it; returns (order, changes).

        `report` holds status and filled_quantity, and may hold average_price,
        price, broker_status and reason (see `_follow_broker`). Only the sync
        calls this. The broker is the authority on fills: more filled quantity is
        applied even to an order we cancelled ourselves (a late fill), and filled
        quantity never goes down.
        """
        with transaction.atomic():
            order = self._get(order_id, lock=True, account=account)
            return order, self._follow_broker(order, **report)

    def apply_broker_updates(self, reports):
        """Apply many broker reports in one transaction; a list of changes or an exception each.

        `reports` holds (order pk, `report` of `apply_broker_update`). One commit
        for many orders is what lets a sync that changes thousands of orders
        finish in seconds; a crash before it leaves every order of the batch
        untouched. When a report fails, the batch is rolled back and applied
        again with a savepoint per order, so the failing one is rolled back alone
        and comes back as its exception while the others commit together.
        """
        try:
            return self._apply_batch_at_once(reports)
        except Exception:
            return self._apply_batch_one_by_one(reports)

    def _lock_batch(self, reports):
        locked = Order.objects.select_for_update().filter(pk__in=[pk for pk, _ in reports])
        return {order.pk: order for order in locked.order_by("pk")}

    def _apply_batch_at_once(self, reports):
        """The common case: the open trades locked in one query, the events in one INSERT."""
        with transaction.atomic():
            orders = self._lock_batch(reports)
            trades = positions.OpenTrades(orders.values())
            self._batch_events = []
            try:
                outcomes = [
                    self._follow_broker(orders[pk], open_trades=trades, **report)
                    for pk, report in reports
                ]
                OrderEvent.objects.bulk_create(self._batch_events, batch_size=500)
            finally:
                self._batch_events = None
        return outcomes

    def _apply_batch_one_by_one(self, reports):
        with transaction.atomic():
            orders = self._lock_batch(reports)
            outcomes = []
            for pk, report in reports:
                try:
                    with transaction.atomic():
                        if pk not in orders:
                            raise OrderNotFound(f"no order with primary key {pk}")
                        outcomes.append(self._follow_broker(orders[pk], **report))
                except Exception as exc:  # handed back to the caller, one per order
                    outcomes.append(exc)
        return outcomes

    def _follow_broker(
        self,
        order,
        *,
        status,
        filled_quantity,
        average_price=None,
        price=None,
        broker_status="",
        reason="",
        open_trades=None,
    ):
        """The body of `apply_broker_update` for an order already locked; returns the changes."""
        now = timezone.now()
        changes = []
        target = _broker_target(order, status, filled_quantity)
        late = order.status in TERMINAL and target.filled > order.filled_quantity
        if order.status == Status.EXECUTED or (order.status in TERMINAL and not late):
            self._touch(order, broker_status, target.reported, now)
            return changes
        if target.status is None:
            self._touch(order, broker_status, target.reported, now)
            return ["unknown_status"]
        next_status = target.status
        # A late fill applies the filled part; the order stays closed unless the
        # broker still works it and no newer sell order for the symbol took its place.
        if (
            late
            and next_status != Status.EXECUTED
            and (next_status not in ACTIVE or not self._can_reactivate(order))
        ):
            next_status = order.status
        delta = target.filled - order.filled_quantity
        common = {
            "broker_status": broker_status[:64],
            "broker_filled_quantity": target.reported,
            "last_synced_at": now,
            "missing_count": 0,
        }
        if next_status in (Status.CANCELLED, Status.REJECTED) and not late:
            common["status_reason"] = reason or order.status_reason
        if delta > 0:
            fill_price = _broker_fill_price(order, target.filled, average_price, price)
            kind = EventKind.LATE_FILL if late else _fill_kind(next_status)
            self._fill(
                order,
                delta,
                fill_price,
                kind=kind,
                to_status=next_status,
                average=average_price if average_price and average_price > 0 else None,
                late_fill=late,
                open_trades=open_trades,
                data={"filled_quantity": target.filled, "broker_status": broker_status},
                **common,
            )
            changes.append("late_fill" if late else _change_name(order.status))
        elif next_status != order.status:
            self._check_transition(order, next_status)
            self._change(
                order,
                _status_kind(next_status),
                to_status=next_status,
                data={"broker_status": broker_status, "reason": reason},
                **common,
            )
            changes.append(_change_name(next_status))
        else:
            self._touch(order, broker_status, target.reported, now)
        if price is not None and order.status in ACTIVE and order.price != price:
            self._change(
                order,
                EventKind.PRICE_UPDATED,
                data={"from": str(order.price), "to": str(price), "by": "broker"},
                price=price,
            )
            changes.append("price_updated")
        return changes

    def _can_reactivate(self, order):
        if order.side != Side.SELL:
            return True
        other = self._active_sell(order.base_symbol, order.account, lock=True)
        return other is None

    def _fill(self, order, qty, price, *, kind=EventKind.FILL, to_status=None, **options):
        """Apply `qty` more filled at `price`: the order, its position and the events.

        `options` may hold `average` (the broker's average, else computed),
        `late_fill`, `data` for the event, `open_trades` (a positions.OpenTrades)
        and further order fields to write.
        """
        open_trades = options.pop("open_trades", None)
        average = options.pop("average", None)
        late_fill = options.pop("late_fill", False)
        data = options.pop("data", None)
        now = timezone.now()
        filled = order.filled_quantity + qty
        if to_status is None:
            to_status = Status.EXECUTED if filled == order.quantity else Status.PARTIALLY_FILLED
        if to_status == Status.EXECUTED and filled != order.quantity:
            raise ValidationError(
                f"order {order.broker_order_id} cannot execute {filled} of {order.quantity}"
            )
        average = average or positions.weighted_average(
            order.average_price, order.filled_quantity, price, qty
        )
        self._check_transition(order, to_status, late_fill=late_fill)
        change = positions.apply_fill(order, qty, price, now, open_trades)
        self._change(
            order,
            kind,
            to_status=to_status,
            data=data,
            late_fill=late_fill,
            then=[_position_event(change)] if change else (),
            filled_quantity=filled,
            average_price=Decimal(average).quantize(AVERAGE_PLACES),
            trade=change.trade if change else order.trade,
            **options,
        )

    # Price and tracking ------------------------------------------------

    def update_sell_order_price(self, symbol, new_price):
        """Move the symbol's active sell order to a new target; False when there is none."""
        base = parse_symbol(symbol)[1]
        price = parse_price(new_price, "new_price")
        with transaction.atomic():
            order = self._active_sell(base, self.account, lock=True)
            if order is None:
                return False
            self._set_price(order, price)
        return True

    def update_price(self, order_id, new_price, expected_version=None):
        price = parse_price(new_price, "price")
        with transaction.atomic():
            order = self._get(order_id, lock=True)
            self._check_version(order, expected_version)
            if order.status not in ACTIVE:
                raise InvalidTransition(
                    f"order {order.broker_order_id} is {order.status}; its price is final"
                )
            self._set_price(order, price)
        return order

    def _set_price(self, order, price):
        if order.price == price:
            return
        self._change(
            order,
            EventKind.PRICE_UPDATED,
            data={"from": str(order.price), "to": str(price)},
            price=price,
        )

    def remove_from_tracking(self, symbol, reason=None, status=Status.CANCELLED):
        """Stop tracking the symbol's active sell order; False when nothing is tracked."""
        base = parse_symbol(symbol)[1]
        status = _closing_status(status)
        reason = parse_reason(reason)
        with transaction.atomic():
            order = self._active_sell(base, self.account, lock=True)
            if order is None:
                return False
            self._close(order, status, reason)
        return True

    def cancel_order(self, order_id, reason=None, status=Status.CANCELLED, expected_version=None):
        """Stop tracking one order as CANCELLED or REJECTED; repeating it is a no-op."""
        status = _closing_status(status)
        reason = parse_reason(reason)
        with transaction.atomic():
            order = self._get(order_id, lock=True)
            self._check_version(order, expected_version)
            if order.status == status:
                return order
            self._check_transition(order, status)
            self._close(order, status, reason)
        return order

    def _close(self, order, status, reason):
        kind = EventKind.CANCELLED if status == Status.CANCELLED else EventKind.REJECTED
        self._change(order, kind, to_status=status, data={"reason": reason}, status_reason=reason)

    # Sync bookkeeping --------------------------------------------------

    def mark_synced(self, order_pks, at=None):
        """Stamp orders seen unchanged in the broker's book: one UPDATE per chunk.

        Bookkeeping only, so no event and no version bump: a sync that changes
        nothing must not make every ETag the bot holds stale.
        """
        at = at or timezone.now()
        pks = list(order_pks)
        with transaction.atomic():
            for start in range(0, len(pks), 500):
                Order.objects.filter(pk__in=pks[start : start + 500]).update(
                    last_synced_at=at, missing_count=0
                )

    def mark_missing(self, order_pks, threshold):
        """Count one more miss for orders absent from the book; flag them at `threshold`."""
        flagged = []
        with transaction.atomic():
            for order in Order.objects.select_for_update().filter(pk__in=list(order_pks)):
                if order.status not in ACTIVE:
                    continue
                count = order.missing_count + 1
                kind = EventKind.FLAGGED if count == threshold else EventKind.MISSING
                self._change(order, kind, data={"missing_count": count}, missing_count=count)
                if count >= threshold:
                    flagged.append(order)
        return flagged

    # Orders placed outside the bot, seen in the broker's book ------------------

    def record_broker_order(self, broker_order):
        """Record a broker order we never registered (source=broker); returns (order, changes).

        One transaction holds the whole story, so a crash leaves all or none of it:
        for a filled SELL of a symbol with an open trade (a manual sell) the bot's
        sell order stops being tracked first, keeping one active sell per symbol;
        the order's fills then move the position; a filled BUY of a symbol in the
        failed-buy queue (a manual buy) takes the symbol out of the queue.
        """
        bo = broker_order
        changes = []
        with transaction.atomic():
            if bo.side == Side.SELL and bo.filled_quantity > 0 and self._has_open_trade(bo):
                bot_sell = self._active_sell(bo.base_symbol, self.account, lock=True)
                if bot_sell is not None:
                    reason = f"sold manually at the broker (order {bo.order_id})"
                    self._close(bot_sell, Status.CANCELLED, reason)
                changes.append("manual_sell")
            order = self._insert(self._broker_order_fields(bo))
            if order is None and self._find(bo.order_id) is None:
                raise DuplicateOrder(
                    f"broker order {bo.order_id}: {bo.base_symbol} already has an active sell order"
                )
            if order is None or order.status in ACTIVE:
                order, applied = self.apply_broker_update(
                    bo.order_id,
                    status=bo.status,
                    filled_quantity=bo.filled_quantity,
                    average_price=bo.average_price,
                    broker_status=bo.broker_status,
                    reason=bo.reason,
                )
                changes.extend(applied)
            if (
                bo.side == Side.BUY
                and bo.filled_quantity > 0
                and failed_orders.mark_bought_manually(self, bo.base_symbol, bo.order_id)
            ):
                changes.append("manual_buy")
        return order, changes

    def _has_open_trade(self, broker_order):
        return (
            Trade.objects.open()
            .filter(account=self.account, symbol=broker_order.base_symbol)
            .exists()
        )

    def _broker_order_fields(self, bo):
        """Fields of a broker order as first seen: OPEN, or its final state if it never filled."""
        price, trigger = _on_tick(bo.price), _on_tick(bo.trigger_price)
        order_type = bo.order_type
        if price is None and order_type in (OrderType.LIMIT, OrderType.SL):
            order_type = OrderType.MARKET  # the book shows no usable limit price
        options = {
            "exchange": bo.exchange,
            "order_type": order_type,
            "variety": bo.variety,
            "trigger_price": trigger,
        }
        if bo.placed_at is not None:
            options["placed_at"] = bo.placed_at
        product = str(bo.raw.get("prod", "")).upper()
        if product in Product.values:
            options["product"] = product
        fields = self._order_fields(
            bo.side, bo.symbol, bo.order_id, price, bo.quantity, None, options
        )
        fields["source"] = Source.BROKER
        fields["status"] = Status.OPEN
        fields["broker_status"] = bo.broker_status[:64]
        if bo.filled_quantity == 0 and bo.status in (Status.CANCELLED, Status.REJECTED):
            fields.update(status=bo.status, status_reason=bo.reason, closed_at=fields["updated_at"])
        return fields

    # Reads in the old bot's shapes ---------------------------------------

    def get_active_sell_orders(self):
        orders = Order.objects.active().sells().for_account(self.account).order_by("base_symbol")
        return {order.base_symbol: shapes.active_sell_order(order) for order in orders}

    def get_active_order(self, symbol):
        base = parse_symbol(symbol)[1]
        order = self._active_sell(base, self.account)
        return shapes.active_sell_order(order) if order else None

    def get_pending_orders(self, status_filter=None):
        """Orders as the old tracker listed them; by default the active ones."""
        if status_filter is None:
            statuses = sorted(ACTIVE)
        elif isinstance(status_filter, str):
            statuses = [parse_status(status_filter, "status_filter")]
        else:
            statuses = [parse_status(value, "status_filter") for value in status_filter]
        orders = Order.objects.for_account(self.account).filter(status__in=statuses)
        return [shapes.pending_order(order) for order in orders.order_by("placed_at", "id")]

    def get_trade_history(self):
        return shapes.trade_history(self.account)

    def get_order(self, order_id):
        return self._get(order_id)

    # Failed-buy retry queue (rules in failed_orders.py) ------------------------

    def add_failed_order(self, symbol, ticker=None, qty=None, close=None, reason="", **metadata):
        return failed_orders.add(self, symbol, ticker, qty, close, reason, parse_metadata(metadata))

    def get_failed_orders(self, now=None):
        return failed_orders.valid_entries(self.account, now)

    def cleanup_expired_failed_orders(self, now=None):
        return failed_orders.expire(self, now)

    def mark_failed_order_retried(self, symbol, order_id):
        return failed_orders.mark_retried(self, symbol, order_id)

    # Failed-buy queue by hand (dashboard, admin) -------------------------------

    def requeue_failed_order(self, entry_id, now=None):
        """Put an expired or dropped buy back in the queue for the bot's next pass."""
        return failed_orders.requeue(self, entry_id, now)

    def drop_failed_order(self, entry_id):
        """Take a waiting buy out of the queue; False when it is not waiting."""
        return failed_orders.drop(self, entry_id)

    # Operator notes and metadata ---------------------------------------------

    def update_metadata(self, order_id, metadata, note=""):
        """Replace an order's metadata and/or add an operator's note, both audited.

        Status, quantities and prices are untouched; the version moves so a client
        holding the old ETag sees that the order changed.
        """
        metadata = parse_metadata(metadata)
        note = parse_reason(note, "note", max_length=2000)
        with transaction.atomic():
            order = self._get(order_id, lock=True)
            if metadata == order.metadata and not note:
                return order
            changed = sorted(
                key
                for key in set(order.metadata) | set(metadata)
                if order.metadata.get(key) != metadata.get(key)
            )
            data = {"metadata_changed": changed} if changed else {}
            if note:
                data["note"] = note
            self._change(order, EventKind.NOTE, data=data, metadata=metadata)
        return order

    # Broker ------------------------------------------------------------------

    def sync_with_broker(self, orders_api=None, broker_orders=None):
        from orderstate import sync

        return sync.sync_with_broker(self, orders_api=orders_api, broker_orders=broker_orders)

    # Helpers -------------------------------------------------------------------

    def _find(self, order_id, account=None, *, lock=False):
        # Locked, so the caller decides on the row as it is now: two processes
        # filling or closing one order queue here instead of overwriting each other.
        queryset = Order.objects.select_for_update() if lock else Order.objects
        return _one(
            queryset.filter(
                account=account or self.account, broker_order_id=parse_order_id(order_id)
            )
        )

    def _get(self, order_id, *, lock=False, account=None):
        order = self._find(order_id, account, lock=lock)
        if order is None:
            raise OrderNotFound(f"no order with id {order_id!s}")
        return order

    def _active_sell(self, base, account, *, lock=False):
        # At most one row (a partial unique constraint), so no ORDER BY is needed.
        queryset = Order.objects.select_for_update() if lock else Order.objects
        return _one(queryset.active().sells().filter(account=account, base_symbol=base))

    def _check_transition(self, order, target, *, late_fill=False):
        if not can_transition(order.status, target, late_fill=late_fill):
            raise InvalidTransition(
                f"order {order.broker_order_id} cannot move from {order.status} to {target}"
            )

    def _check_version(self, order, expected_version):
        if expected_version is not None and int(expected_version) != order.version:
            raise StaleVersion(
                f"order {order.broker_order_id} is at version {order.version}, "
                f"not {expected_version}"
            )

    def _change(
        self, order, kind, *, to_status=None, data=None, late_fill=False, then=(), **fields
    ):
        """Write a change to a locked order and its event; the only place that saves one.

        `then` holds (kind, data) of further events about the changed order (its
        position moving), written in the same INSERT as the change's own.
        """
        now = timezone.now()
        from_status = order.status
        if to_status is not None and to_status != from_status:
            self._check_transition(order, to_status, late_fill=late_fill)
            order.status = to_status
            order.closed_at = now if to_status in TERMINAL else None
        for name, value in fields.items():
            setattr(order, name, value)
        order.version += 1
        order.updated_at = now
        changed = {"status", "closed_at", "version", "updated_at", *fields}
        order.save(update_fields=changed)
        self.log_events(
            order,
            [
                (kind, from_status, order.status, data),
                *(
                    (then_kind, order.status, order.status, then_data)
                    for then_kind, then_data in then
                ),
            ],
        )

    def _touch(self, order, broker_status, broker_filled, now):
        """Note what the broker said of an order it did not change (no event, no version)."""
        order.broker_status = (broker_status or order.broker_status)[:64]
        order.broker_filled_quantity = broker_filled
        order.last_synced_at = now
        order.missing_count = 0
        order.save(
            update_fields=[
                "broker_status",
                "broker_filled_quantity",
                "last_synced_at",
                "missing_count",
            ]
        )

    def log_event(self, order, kind, from_status, to_status, data):
        return self.log_events(order, [(kind, from_status, to_status, data)])[0]

    def log_events(self, order, events):
        """Write (kind, from_status, to_status, data) events about `order` in one INSERT.

        Inside a sync batch they wait for the batch's own INSERT instead.
        """
        rows = [
            OrderEvent(
                order=order,
                kind=kind,
                from_status=from_status,
                to_status=to_status,
                source=self.source,
                actor=self.actor,
                data=data or {},
            )
            for kind, from_status, to_status, data in events
        ]
        if self._batch_events is not None:
            self._batch_events.extend(rows)
            return rows
        return OrderEvent.objects.bulk_create(rows)


def _position_event(change):
    """(kind, data) of the event saying how a fill moved the symbol's position."""
    kinds = {"opened": EventKind.TRADE_OPENED, "closed": EventKind.TRADE_CLOSED}
    data = {"trade_id": change.trade.pk, "position": change.kind, **change.data}
    return kinds.get(change.kind, EventKind.TRADE_UPDATED), data


class _BrokerTarget:
    """What a broker report asks of an order: a status, the filled quantity to
    reach (never fewer than ours), and the broker's own figure as reported."""

    __slots__ = ("filled", "reported", "status")

    def __init__(self, status, filled, reported):
        self.status = status
        self.filled = filled
        self.reported = reported


def _broker_target(order, status, filled_quantity):
    """The status and filled quantity the broker's report asks for, never fewer fills."""
    filled = parse_quantity(filled_quantity, "filled_quantity", allow_zero=True)
    if status == Status.EXECUTED:
        filled = order.quantity
    if filled > order.quantity:
        raise ValidationError(
            f"broker reports {filled} filled of {order.quantity} for {order.broker_order_id}"
        )
    reported = filled
    filled = max(filled, order.filled_quantity)
    if status in ACTIVE:
        if filled == order.quantity:
            status = Status.EXECUTED
        elif filled > 0:
            status = Status.PARTIALLY_FILLED
        elif order.status == Status.PENDING and status == Status.PENDING:
            status = Status.PENDING
        else:
            status = Status.OPEN if order.status in (Status.PENDING, Status.OPEN) else order.status
    return _BrokerTarget(status, filled, max(reported, order.broker_filled_quantity))


def _broker_fill_price(order, filled, average_price, price):
    """Price of the newly filled part, from the broker's cumulative average."""
    if average_price and average_price > 0:
        return _remainder_price(order, filled, average_price)
    fallback = price or order.price or order.average_price
    if not fallback:
        raise ValidationError(f"broker gives no price for the fill of {order.broker_order_id}")
    return fallback


def _remainder_price(order, filled, average):
    """Price of the fills after `order.filled_quantity` that make `average` over `filled`."""
    new = filled - order.filled_quantity
    if new <= 0 or not order.filled_quantity:
        return average
    value = average * filled - (order.average_price or 0) * order.filled_quantity
    price = (value / new).quantize(AVERAGE_PLACES)
    return price if price > 0 else average


def _on_tick(price):
    """A broker price an order can carry (two decimals), or None."""
    return price if price is not None and price == price.quantize(_TICK) else None


def _closing_status(status):
    status = parse_status(status)
    if status not in (Status.CANCELLED, Status.REJECTED):
        raise ValidationError(
            f"status: stop tracking as CANCELLED or REJECTED, not {status}",
            fields={"status": ["must be CANCELLED or REJECTED"]},
        )
    return status


def _fill_kind(status):
    return EventKind.EXECUTED if status == Status.EXECUTED else EventKind.FILL


def _one(queryset):
    """The single row a unique lookup finds, or None; cheaper than `.first()`'s ORDER BY."""
    rows = list(queryset.order_by()[:2])
    return rows[0] if rows else None


def _change_name(status):
    """The sync-stats key for an order that reached `status`."""
    return "partially_filled" if status == Status.PARTIALLY_FILLED else status.lower()


def _status_kind(status):
    return {
        Status.CANCELLED: EventKind.CANCELLED,
        Status.REJECTED: EventKind.REJECTED,
    }.get(status, EventKind.STATUS_CHANGED)
