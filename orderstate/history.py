"""Verbs that write recorded history (the legacy import) and repair it (check_state --fix).

A mixin of `OrderStateManager`: it uses the manager's own helpers (`_order_fields`,
`_find`, `_get`, `_change`, `log_event`), so history lands with the same
validation, locks and audit events as live changes. History goes in as rows at
their recorded state: fills are not replayed through positions, because the
trades come from the old trade history.
"""

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from orderstate.actions import positions
from orderstate.errors import DuplicateOrder, InvalidTransition, OrderNotFound, ValidationError
from orderstate.models import (
    EventKind,
    FailedOrder,
    FailedOrderStatus,
    Order,
    OrderType,
    Side,
    Trade,
    TradeStatus,
    Variety,
)
from orderstate.states import TERMINAL, Status, parse_status
from orderstate.validation import (
    parse_choice,
    parse_metadata,
    parse_optional_price,
    parse_price,
    parse_quantity,
    parse_reason,
    parse_symbol,
)

MAX_AMOUNT = Decimal("1e15")  # fits Trade.realised_pnl (18 digits, 2 decimals)


class HistoryVerbs:
    def import_order(self, symbol, order_id, *, side, qty, status, placed_at, **recorded):
        """Create an order directly in its recorded status; DuplicateOrder when it exists.

        `recorded` may hold price, ticker, order_type, variety, filled_qty,
        average_price, last_synced_at, status_reason, metadata and side_reason
        (how an importer inferred the side; it goes in the event).
        """
        price = recorded.get("price")
        options = {
            "order_type": recorded.get("order_type", OrderType.LIMIT),
            "variety": recorded.get("variety", Variety.REGULAR),
            "placed_at": placed_at,
        }
        fields = self._order_fields(
            side, symbol, order_id, price, qty, recorded.get("ticker"), options
        )
        status = parse_status(status)
        filled = parse_quantity(recorded.get("filled_qty", 0), "filled_qty", allow_zero=True)
        _check_recorded_fill(status, filled, fields["quantity"])
        placed_at = _moment(placed_at, "placed_at")
        last_synced_at = _moment(recorded.get("last_synced_at"), "last_synced_at", optional=True)
        fields.update(
            placed_at=placed_at,
            status=status,
            filled_quantity=filled,
            average_price=parse_optional_price(
                recorded.get("average_price"), "average_price", places=4
            ),
            status_reason=parse_reason(recorded.get("status_reason"), max_length=2000),
            last_synced_at=last_synced_at,
            closed_at=(last_synced_at or placed_at) if status in TERMINAL else None,
            metadata=parse_metadata(recorded.get("metadata") or {}),
        )
        with transaction.atomic():
            try:
                with transaction.atomic():
                    order = Order.objects.create(**fields)
            except IntegrityError:
                raise DuplicateOrder(
                    f"order {fields['broker_order_id']} exists, or {fields['base_symbol']} "
                    "already has an active sell order"
                ) from None
            data = {**order.registration_summary(), "imported": True, "filled_quantity": filled}
            if recorded.get("side_reason"):
                data["side_inferred_from"] = recorded["side_reason"]
            self.log_event(order, EventKind.REGISTERED, "", order.status, data)
        return order

    def import_trade(self, symbol, *, qty, entry_price, entry_time, status, **recorded):
        """Create a position as the old history recorded it, linked to its orders by id.

        `recorded` may hold ticker, exit_price, exit_time, exit_reason,
        realised_pnl, entry_order_id, exit_order_id and metadata.
        """
        base = parse_symbol(symbol)[1]
        status = parse_choice(status, TradeStatus, "status")
        exit_price = parse_optional_price(recorded.get("exit_price"), "exit_price", places=4)
        exit_time = _moment(recorded.get("exit_time"), "exit_time", optional=True)
        closed = status == TradeStatus.CLOSED
        if closed != (exit_price is not None and exit_time is not None):
            raise ValidationError(
                "exit_price and exit_time: a closed trade has both, an open one neither",
                fields={"exit_price": ["must match the status"]},
            )
        fields = {
            "account": self.account,
            "symbol": base,
            "ticker": (recorded.get("ticker") or "").strip()[:40],
            "quantity": parse_quantity(qty),
            "entry_price": parse_price(entry_price, "entry_price", places=4),
            "entry_time": _moment(entry_time, "entry_time"),
            "status": status,
            "exit_price": exit_price,
            "exit_time": exit_time,
            "exit_reason": parse_reason(recorded.get("exit_reason"), max_length=200),
            "realised_pnl": _amount(recorded.get("realised_pnl"), "realised_pnl"),
            "metadata": parse_metadata(recorded.get("metadata") or {}),
            "updated_at": timezone.now(),
        }
        fields["closed_quantity"] = fields["quantity"] if closed else 0
        with transaction.atomic():
            entry = self._linked(recorded.get("entry_order_id"), Side.BUY, base)
            exit_order = self._linked(recorded.get("exit_order_id"), Side.SELL, base)
            try:
                with transaction.atomic():
                    trade = Trade.objects.create(
                        entry_order=entry, exit_order=exit_order if closed else None, **fields
                    )
            except IntegrityError:
                raise DuplicateOrder(f"{base} already has an open trade") from None
            data = {"trade_id": trade.pk, "symbol": base, "imported": True}
            links = [(entry, EventKind.TRADE_OPENED)]
            if closed:
                links.append((exit_order, EventKind.TRADE_CLOSED))
            linked = [(order, kind) for order, kind in links if order is not None]
            for order, kind in linked:
                self._change(order, kind, data=data, trade=trade)
            if not linked:
                kind = EventKind.TRADE_CLOSED if closed else EventKind.TRADE_OPENED
                self.log_event(None, kind, "", "", data)
        return trade

    def import_failed_order(self, symbol, *, qty, first_failed_at, **recorded):
        """Queue a failed buy as recorded (retry count, times, status), not as a new failure.

        `recorded` may hold ticker, close, reason, retry_count, last_retry_at,
        status and metadata.
        """
        trading, base = parse_symbol(symbol)
        status = parse_choice(
            recorded.get("status", FailedOrderStatus.WAITING), FailedOrderStatus, "status"
        )
        fields = {
            "account": self.account,
            "symbol": base,
            "trading_symbol": trading if trading != base else "",
            "ticker": (recorded.get("ticker") or "").strip()[:40],
            "quantity": parse_quantity(qty),
            "reference_price": parse_optional_price(recorded.get("close"), "close"),
            "reason": parse_reason(recorded.get("reason"), max_length=2000),
            "first_failed_at": _moment(first_failed_at, "first_failed_at"),
            "retry_count": parse_quantity(
                recorded.get("retry_count", 0), "retry_count", allow_zero=True
            ),
            "last_retry_at": _moment(recorded.get("last_retry_at"), "last_retry_at", optional=True),
            "status": status,
            "metadata": parse_metadata(recorded.get("metadata") or {}),
            "updated_at": timezone.now(),
        }
        with transaction.atomic():
            try:
                with transaction.atomic():
                    entry = FailedOrder.objects.create(**fields)
            except IntegrityError:
                raise DuplicateOrder(f"{base} already has a waiting failed order") from None
            data = {"failed_order_id": entry.pk, "symbol": base, "imported": True}
            self.log_event(None, EventKind.FAILED_ORDER, "", status, data)
        return entry

    def _linked(self, order_id, side, base):
        """The locked order a trade links to by id, or None when it is not here."""
        if order_id in (None, ""):
            return None
        order = self._find(order_id, lock=True)
        if order is None:
            return None
        if order.side != side or order.base_symbol != base:
            raise ValidationError(
                f"order {order.broker_order_id} is a {order.side} of {order.base_symbol}, "
                f"not a {side} of {base}",
                fields={"order_id": ["side or symbol does not match"]},
            )
        return order

    # Consistency repairs (check_state --fix) -----------------------------------------

    def close_trade_from_sell(self, trade_id, order_id):
        """Book an executed sell on the open trade it sold, at the sell's average price.

        For history where the sell executed but the trade was never closed. A
        repeat is a no-op; a sell without an execution price is refused, never guessed.
        """
        with transaction.atomic():
            trade = Trade.objects.select_for_update().filter(pk=trade_id).first()
            order = self._get(order_id, lock=True, account=trade.account if trade else None)
            if trade is None:
                raise OrderNotFound(f"no trade with id {trade_id}")
            if trade.exit_order_id == order.pk:
                return trade
            if not (
                order.side == Side.SELL
                and order.status == Status.EXECUTED
                and order.base_symbol == trade.symbol
                and trade.status == TradeStatus.OPEN
            ):
                raise InvalidTransition(
                    f"order {order.broker_order_id} is not an executed sell of open trade "
                    f"{trade.pk} ({trade.symbol})"
                )
            if order.average_price is None:
                raise ValidationError(
                    f"order {order.broker_order_id} has no execution price to close the trade at"
                )
            sold = min(order.filled_quantity, trade.open_quantity)
            price = order.average_price
            pnl = ((price - trade.entry_price) * sold).quantize(positions.RUPEE_PLACES)
            exit_price = positions.weighted_average(
                trade.exit_price, trade.closed_quantity, price, sold
            )
            trade.record_exit(sold, exit_price, pnl, order, order.closed_at or timezone.now())
            data = {"trade_id": trade.pk, "quantity": sold, "pnl": str(pnl), "repair": True}
            self._change(order, EventKind.TRADE_CLOSED, data=data, trade=trade)
        return trade

    def link_trade_exit(self, trade_id, order_id):
        """Link a closed trade to the sell order that closed it, named in its history."""
        with transaction.atomic():
            trade = Trade.objects.select_for_update().filter(pk=trade_id).first()
            if trade is None:
                raise OrderNotFound(f"no trade with id {trade_id}")
            order = self._get(order_id, lock=True, account=trade.account)
            if trade.exit_order_id == order.pk:
                return trade
            if trade.status != TradeStatus.CLOSED or trade.exit_order_id is not None:
                raise InvalidTransition(f"trade {trade.pk} is not a closed trade without a sell")
            if order.side != Side.SELL or order.base_symbol != trade.symbol:
                raise ValidationError(
                    f"order {order.broker_order_id} is not a sell of {trade.symbol}"
                )
            trade.exit_order = order
            trade.updated_at = timezone.now()
            trade.save(update_fields=["exit_order", "updated_at"])
            data = {"trade_id": trade.pk, "repair": True}
            self._change(order, EventKind.TRADE_CLOSED, data=data, trade=trade)
        return trade


def _check_recorded_fill(status, filled, quantity):
    """The filled quantity a recorded status allows."""
    allowed = {
        Status.EXECUTED: filled == quantity,
        Status.PARTIALLY_FILLED: 0 < filled < quantity,
        Status.PENDING: filled == 0,
        Status.OPEN: filled == 0,
    }.get(status, filled <= quantity)
    if not allowed:
        raise ValidationError(
            f"filled_qty: {filled} of {quantity} does not fit status {status}",
            fields={"filled_qty": [f"does not fit {status}"]},
        )


def _moment(value, name, *, optional=False):
    """A recorded time: timezone-aware, so history is never shifted by the server's zone."""
    if value is None and optional:
        return None
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise ValidationError(
            f"{name}: must be a timezone-aware date-time", fields={name: ["aware datetime"]}
        )
    return value


def _amount(value, name):
    """A signed rupee amount (P&L), Decimal to the paisa."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ValidationError(f"{name}: {value!r} is not a number") from None
    if isinstance(value, bool) or not amount.is_finite():
        raise ValidationError(f"{name}: {value!r} is not a finite number")
    if abs(amount) >= MAX_AMOUNT:
        raise ValidationError(f"{name}: {amount} is beyond ±{MAX_AMOUNT}")
    return amount.quantize(positions.RUPEE_PLACES)
