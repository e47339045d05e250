"""History written as recorded: the old bot's orders, trades and failed buys, imported once.

History goes in as rows at their recorded state: fills are not replayed through
positions, because the trades come from the old trade history. The helpers run
inside `importing()`, the import's one transaction, each record in a savepoint
of its own, so a refused record leaves nothing behind and the others go in.
"""

from contextlib import contextmanager
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from orderstate.actions import ledger
from orderstate.actions.base import change_order, find_order, write_event
from orderstate.actions.orders import order_fields
from orderstate.errors import DuplicateOrder, ValidationError
from orderstate.models import (
    EventKind,
    FailedOrder,
    FailedOrderStatus,
    Lot,
    Order,
    OrderType,
    Side,
    Trade,
    TradeStatus,
    Variety,
)
from orderstate.money import to_paise
from orderstate.states import TERMINAL, Status, parse_status
from orderstate.validation import (
    parse_choice,
    parse_metadata,
    parse_moment,
    parse_optional_price,
    parse_price,
    parse_quantity,
    parse_reason,
    parse_symbol,
    parse_ticker,
)

MAX_AMOUNT = Decimal("1e15")  # fits Trade.realised_pnl (18 digits, 2 decimals)


@contextmanager
def importing():
    """The one transaction of an import: every record goes in, or none does."""
    with transaction.atomic(durable=True):
        yield


def import_order(ctx, symbol, order_id, *, side, qty, status, placed_at, **recorded):
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
    fields = order_fields(
        ctx, side, symbol, order_id, price, qty, recorded.get("ticker"), **options
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
        write_event(ctx, order, EventKind.REGISTERED, "", order.status, data)
    return order


def import_trade(ctx, symbol, *, qty, entry_price, entry_time, status, **recorded):
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
        "account": ctx.account,
        "symbol": base,
        "ticker": parse_ticker(recorded.get("ticker")),
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
    with transaction.atomic():
        entry = _linked(ctx, recorded.get("entry_order_id"), Side.BUY, base)
        exit_order = _linked(ctx, recorded.get("exit_order_id"), Side.SELL, base)
        trade = _post_recorded_lots(fields, entry, exit_order if closed else None)
        data = {"trade_id": trade.pk, "symbol": base, "imported": True}
        links = [(entry, EventKind.TRADE_OPENED)]
        if closed:
            links.append((exit_order, EventKind.TRADE_CLOSED))
        linked = [(order, kind) for order, kind in links if order is not None]
        for order, kind in linked:
            change_order(ctx, order, kind, data=data, trade=trade)
        if not linked:
            kind = EventKind.TRADE_CLOSED if closed else EventKind.TRADE_OPENED
            write_event(ctx, None, kind, "", "", data)
    return trade


def _post_recorded_lots(fields, entry, exit_order):
    """The recorded trade as ledger lots: its buy, and its sell when it closed.

    A position of the symbol still open refuses it: the old history holds one
    position per symbol at a time. What the ledger cannot know (ticker, notes,
    the exit reason, the P&L the old bot recorded, fees and all) is kept as recorded.
    """
    account, symbol, quantity = fields["account"], fields["symbol"], fields["quantity"]
    if (
        ledger.held(account, symbol)
        or Trade.objects.open().filter(account=account, symbol=symbol).exists()
    ):
        raise DuplicateOrder(f"{symbol} already has an open trade")
    lots = [Lot(side=Side.BUY, price=fields["entry_price"], at=fields["entry_time"], order=entry)]
    if fields["status"] == TradeStatus.CLOSED:
        lots.append(
            Lot(
                side=Side.SELL, price=fields["exit_price"], at=fields["exit_time"], order=exit_order
            )
        )
    changes = []
    for lot in lots:
        lot.account, lot.symbol = account, symbol
        lot.quantity = lot.open_quantity = quantity
        changes.extend(ledger.post(lot))
    trade = changes[0].trade
    trade.ticker = fields["ticker"]
    trade.metadata = fields["metadata"]
    trade.exit_reason = fields["exit_reason"]
    if fields["realised_pnl"] is not None:
        trade.realised_pnl = fields["realised_pnl"]
    trade.save(update_fields=["ticker", "metadata", "exit_reason", "realised_pnl"])
    return trade


def import_failed_order(ctx, symbol, *, qty, first_failed_at, **recorded):
    """Queue a failed buy as recorded (retry count, times, status), not as a new failure.

    `recorded` may hold ticker, close, reason, retry_count, last_retry_at,
    status and metadata.
    """
    trading, base = parse_symbol(symbol)
    status = parse_choice(
        recorded.get("status", FailedOrderStatus.WAITING), FailedOrderStatus, "status"
    )
    fields = {
        "account": ctx.account,
        "symbol": base,
        "trading_symbol": trading if trading != base else "",
        "ticker": parse_ticker(recorded.get("ticker")),
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
        write_event(ctx, None, EventKind.FAILED_ORDER, "", status, data)
    return entry


def _linked(ctx, order_id, side, base):
    """The locked order a trade links to by id, or None when it is not here."""
    if order_id in (None, ""):
        return None
    order = find_order(ctx, order_id, lock=True)
    if order is None:
        return None
    if order.side != side or order.base_symbol != base:
        raise ValidationError(
            f"order {order.broker_order_id} is a {order.side} of {order.base_symbol}, "
            f"not a {side} of {base}",
            fields={"order_id": ["side or symbol does not match"]},
        )
    return order


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
    if value is None and optional:
        return None
    return parse_moment(value, name)


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
    return to_paise(amount)
