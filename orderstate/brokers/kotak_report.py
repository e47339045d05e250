"""Kotak Neo's `order_report` body, parsed into an `OrderBook`.

Strict about types and tolerant about naming: numbers arrive as numbers or
strings (`"prc": "0.00"`). Besides Kotak's keys (docs/functions/orders/
order_report.md), longer names (`neoOrdNo`, `orderStatus`, `transactionType`)
are read too: they are not Kotak's, but hand-made books (the old bot's tests,
other tools) use them. Rows of segments other than `nse_cm`/`bse_cm` are
skipped and counted, here and wherever a row is parsed (the order feed too).
"""

from orderstate.brokers.base import (
    BadBrokerRow,
    BrokerOrder,
    BrokerUnavailable,
    OrderBook,
    OtherSegment,
)
from orderstate.brokers.kotak_fields import (
    EMPTY,
    error_text,
    exchange_of,
    is_empty_answer,
    kind,
    moment,
    number_text,
    price,
    text,
)
from orderstate.brokers.kotak_status import from_broker_status, is_after_market
from orderstate.errors import ValidationError
from orderstate.models import OrderType, Side, Variety
from orderstate.states import Status
from orderstate.validation import check_storable, parse_order_id, parse_quantity, parse_symbol

# Each field's names, Kotak's first.
FIELD_NAMES = {
    "order_id": ("nOrdNo", "neoOrdNo", "orderId", "order_id"),
    "status": ("ordSt", "orderStatus", "status"),
    "symbol": ("trdSym", "tradingSymbol", "trading_symbol", "sym"),
    "side": ("trnsTp", "transactionType", "transaction_type"),
    "quantity": ("qty", "quantity"),
    "filled": ("fldQty", "filledQuantity", "filled_quantity"),
    "unfilled": ("unFldSz", "unfilledSize", "pendingQuantity"),
    "price": ("prc", "price"),
    "average": ("avgPrc", "averagePrice", "average_price"),
    "trigger": ("trgPrc", "triggerPrice", "trigger_price"),
    "reason": ("rejRsn", "rejectionReason", "rejection_reason"),
    "placed_at": ("ordDtTm", "orderDateTime", "order_time"),
    "exchange": ("exSeg", "exchangeSegment", "exchange"),
    "order_type": ("prcTp", "orderType", "order_type"),
    "product": ("prod", "product"),
}
SIDES = {"B": Side.BUY, "BUY": Side.BUY, "S": Side.SELL, "SELL": Side.SELL}
ORDER_TYPES = {
    "L": OrderType.LIMIT,
    "LIMIT": OrderType.LIMIT,
    "MKT": OrderType.MARKET,
    "MARKET": OrderType.MARKET,
    "SL": OrderType.SL,
    "SL-M": OrderType.SL_M,
    "SL_M": OrderType.SL_M,
}


def parse_order_report(body):
    """An `order_report` body (`{"stat": "Ok", "data": [...]}`) or a bare list, as an OrderBook."""
    if isinstance(body, list):
        return parse_rows(body)
    if not isinstance(body, dict):
        raise BrokerUnavailable(f"order book: expected a JSON object or list, got {kind(body)}")
    stat = body.get("stat")
    if stat is not None and str(stat).lower() != "ok":
        if is_empty_answer(body):
            return OrderBook()
        raise BrokerUnavailable(f"order book: broker answered {error_text(body)}")
    rows = body.get("data")
    if stat is None and rows is None:
        raise BrokerUnavailable(f"order book: broker answered {error_text(body)}")
    if rows is None:
        return OrderBook()
    if not isinstance(rows, list):
        raise BrokerUnavailable(f"order book: 'data' is {kind(rows)}, not a list")
    return parse_rows(rows)


def parse_rows(rows):
    orders, errors, unreadable, skipped = [], [], [], 0
    for index, row in enumerate(rows):
        try:
            orders.append(parse_order(row))
        except OtherSegment:
            skipped += 1
        except BadBrokerRow as exc:
            errors.append(f"row {index}: {exc}")
            if exc.order_id:
                unreadable.append(exc.order_id)
    return OrderBook(orders, errors, unreadable, skipped)


def parse_order(row):
    """One Kotak row as a BrokerOrder; raises BadBrokerRow naming what is wrong, and
    OtherSegment (a BadBrokerRow) for a row that is not cash equities."""
    if not isinstance(row, dict):
        raise BadBrokerRow(f"expected an object, got {kind(row)}")
    order_id = _value(row, "order_id")
    order_id = None if order_id in EMPTY else str(order_id).strip()
    exchange = exchange_of(_value(row, "exchange"), order_id)
    try:
        return _parse(row, exchange)
    except ValidationError as exc:
        raise BadBrokerRow(f"{_id_hint(row)}{exc.detail}", order_id) from None
    except BadBrokerRow as exc:
        raise BadBrokerRow(str(exc), order_id) from None


def _parse(row, exchange):
    order_id = parse_order_id(_required(row, "order_id"), "nOrdNo")
    symbol, base = parse_symbol(_required(row, "symbol"), "trdSym")
    side_text = str(_required(row, "side")).strip().upper()
    if side_text not in SIDES:
        raise BadBrokerRow(f"order {order_id}: trnsTp {side_text!r} is not B, S, BUY or SELL")
    quantity = parse_quantity(number_text(_required(row, "quantity")), "qty")
    filled = _filled(row, quantity, order_id)
    broker_status = check_storable(str(_required(row, "status")).strip(), "ordSt")
    status = from_broker_status(broker_status, quantity, filled)
    if status == Status.EXECUTED and filled not in (0, quantity):
        raise BadBrokerRow(f"order {order_id}: complete with {filled} of {quantity} filled")
    if status == Status.EXECUTED:
        filled = quantity
    order_type = ORDER_TYPES.get(str(_value(row, "order_type") or "L").strip().upper())
    return BrokerOrder(
        order_id=order_id,
        symbol=symbol,
        base_symbol=base,
        side=SIDES[side_text],
        quantity=quantity,
        filled_quantity=filled,
        price=_price(row, "price", order_id),
        average_price=_price(row, "average", order_id),
        status=status,
        broker_status=broker_status[:64],
        reason=check_storable(text(_value(row, "reason")), "rejRsn")[:500],
        placed_at=moment(_value(row, "placed_at"), "ordDtTm", order_id),
        exchange=exchange,
        order_type=order_type or OrderType.LIMIT,
        variety=Variety.AMO if is_after_market(broker_status) else Variety.REGULAR,
        trigger_price=_price(row, "trigger", order_id),
        raw=row,
    )


def _value(row, name):
    for key in FIELD_NAMES[name]:
        if key in row:
            return row[key]
    return None


def _required(row, name):
    value = _value(row, name)
    if value in EMPTY:
        raise BadBrokerRow(f"{_id_hint(row)}missing {FIELD_NAMES[name][0]}")
    return value


def _filled(row, quantity, order_id):
    raw = _value(row, "filled")
    if raw in EMPTY:
        unfilled = _value(row, "unfilled")
        if unfilled in EMPTY:
            return 0
        raw = quantity - parse_quantity(number_text(unfilled), "unFldSz", allow_zero=True)
    filled = parse_quantity(number_text(raw), "fldQty", allow_zero=True)
    if filled > quantity:
        raise BadBrokerRow(f"order {order_id}: fldQty {filled} is more than qty {quantity}")
    return filled


def _price(row, name, order_id):
    return price(_value(row, name), FIELD_NAMES[name][0], order_id)


def _id_hint(row):
    order_id = _value(row, "order_id")
    return f"order {order_id}: " if order_id not in EMPTY else ""
