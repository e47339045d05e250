"""Kotak Neo's `order_report` body, parsed into an `OrderBook`.

Strict about types and tolerant about naming: numbers arrive as strings
(`"prc": "0.00"`), and older payloads call the same fields `neoOrdNo`,
`orderStatus`, `transactionType`.
"""

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from orderstate.brokers.base import BadBrokerRow, BrokerOrder, BrokerUnavailable, OrderBook
from orderstate.brokers.kotak_status import from_broker_status
from orderstate.errors import ValidationError
from orderstate.market import IST
from orderstate.models import OrderType, Side, Variety
from orderstate.money import AVERAGE_PLACES
from orderstate.states import Status
from orderstate.validation import check_storable, parse_order_id, parse_quantity, parse_symbol

# Each field's names, the current one first.
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
    "amo": ("amo", "isAmo"),
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
EXCHANGES = {"nse_cm": "NSE", "bse_cm": "BSE", "nse": "NSE", "bse": "BSE"}
AMO_STATUS = "after market order req received"
KOTAK_TIME = re.compile(
    r"(?P<day>\d{1,2})-(?P<month>[A-Za-z]{3})-(?P<year>\d{4}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
)
MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
TIME_FORMATS = ("%d-%b-%Y %H:%M:%S", "%d-%b-%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
EMPTY = ("", "NA", "--", None)


def parse_order_report(body):
    """An `order_report` body (`{"stat": "Ok", "data": [...]}`) or a bare list, as an OrderBook."""
    if isinstance(body, list):
        return parse_rows(body)
    if not isinstance(body, dict):
        raise BrokerUnavailable(f"order book: expected a JSON object or list, got {_kind(body)}")
    stat = body.get("stat")
    if stat is not None and str(stat).lower() != "ok":
        if is_empty_book_answer(body):
            return OrderBook()
        raise BrokerUnavailable(f"order book: broker answered {_error_text(body)}")
    rows = body.get("data")
    if stat is None and rows is None:
        raise BrokerUnavailable(f"order book: broker answered {_error_text(body)}")
    if rows is None:
        return OrderBook()
    if not isinstance(rows, list):
        raise BrokerUnavailable(f"order book: 'data' is {_kind(rows)}, not a list")
    return parse_rows(rows)


def parse_rows(rows):
    orders, errors, unreadable = [], [], []
    for index, row in enumerate(rows):
        try:
            orders.append(parse_order(row))
        except BadBrokerRow as exc:
            errors.append(f"row {index}: {exc}")
            if exc.order_id:
                unreadable.append(exc.order_id)
    return OrderBook(orders, errors, unreadable)


def parse_order(row):
    """One Kotak row as a BrokerOrder; raises BadBrokerRow naming what is wrong."""
    if not isinstance(row, dict):
        raise BadBrokerRow(f"expected an object, got {_kind(row)}")
    order_id = _value(row, "order_id")
    order_id = None if order_id in EMPTY else str(order_id).strip()
    try:
        return _parse(row)
    except ValidationError as exc:
        raise BadBrokerRow(f"{_id_hint(row)}{exc.detail}", order_id) from None
    except BadBrokerRow as exc:
        raise BadBrokerRow(str(exc), order_id) from None


def _parse(row):
    order_id = parse_order_id(_required(row, "order_id"), "nOrdNo")
    symbol, base = parse_symbol(_required(row, "symbol"), "trdSym")
    side_text = str(_required(row, "side")).strip().upper()
    if side_text not in SIDES:
        raise BadBrokerRow(f"order {order_id}: trnsTp {side_text!r} is not B, S, BUY or SELL")
    quantity = parse_quantity(_number_text(_required(row, "quantity")), "qty")
    filled = _filled(row, quantity, order_id)
    broker_status = check_storable(str(_required(row, "status")).strip(), "ordSt")
    status = from_broker_status(broker_status, quantity, filled)
    if status == Status.EXECUTED and filled not in (0, quantity):
        raise BadBrokerRow(f"order {order_id}: complete with {filled} of {quantity} filled")
    if status == Status.EXECUTED:
        filled = quantity
    order_type = ORDER_TYPES.get(str(_value(row, "order_type") or "L").strip().upper())
    amo = str(_value(row, "amo") or "").strip().upper() in ("YES", "Y", "TRUE")
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
        reason=check_storable(_text(_value(row, "reason")), "rejRsn")[:500],
        placed_at=_time(_value(row, "placed_at"), order_id),
        exchange=EXCHANGES.get(str(_value(row, "exchange") or "").strip().lower(), "NSE"),
        order_type=order_type or OrderType.LIMIT,
        variety=Variety.AMO if amo or broker_status.lower() == AMO_STATUS else Variety.REGULAR,
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


def _number_text(value):
    """Kotak sends counts as numbers or strings ("10", "10.0"); both are fine, "ten" is not."""
    if isinstance(value, str) and value.strip().endswith(".0"):
        return value.strip()[:-2]
    return value


def _filled(row, quantity, order_id):
    raw = _value(row, "filled")
    if raw in EMPTY:
        unfilled = _value(row, "unfilled")
        if unfilled in EMPTY:
            return 0
        raw = quantity - parse_quantity(_number_text(unfilled), "unFldSz", allow_zero=True)
    filled = parse_quantity(_number_text(raw), "fldQty", allow_zero=True)
    if filled > quantity:
        raise BadBrokerRow(f"order {order_id}: fldQty {filled} is more than qty {quantity}")
    return filled


def _price(row, name, order_id):
    """A price, or None where Kotak sends zero or nothing (market orders, no fills yet)."""
    raw = _value(row, name)
    if raw in EMPTY or isinstance(raw, bool):
        if isinstance(raw, bool):
            raise BadBrokerRow(f"order {order_id}: {FIELD_NAMES[name][0]} is a boolean")
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        message = f"order {order_id}: {FIELD_NAMES[name][0]} {raw!r} is not a number"
        raise BadBrokerRow(message) from None
    if not value.is_finite() or value < 0:
        raise BadBrokerRow(f"order {order_id}: {FIELD_NAMES[name][0]} {raw!r} is not a price")
    return value.quantize(AVERAGE_PLACES) if value > 0 else None


def _time(raw, order_id):
    if raw in EMPTY:
        return None
    text = str(raw).strip()
    # The book's own format, parsed by hand: strptime costs more than the rest of a row.
    match = KOTAK_TIME.fullmatch(text)
    if match and match["month"].lower() in MONTHS:
        day, year, hour, minute, second = (
            int(match[name]) for name in ("day", "year", "hour", "minute", "second")
        )
        try:
            month = MONTHS[match["month"].lower()]
            return datetime(year, month, day, hour, minute, second, tzinfo=IST)
        except ValueError:
            pass
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=IST)
        except ValueError:
            continue
    raise BadBrokerRow(
        f"order {order_id}: ordDtTm {text!r} is not a date like 21-Jun-2022 14:49:32"
    )


def _text(value):
    return "" if value in EMPTY else str(value).strip()


def _id_hint(row):
    order_id = _value(row, "order_id")
    return f"order {order_id}: " if order_id not in EMPTY else ""


def _kind(value):
    return "null" if value is None else type(value).__name__


def _error_text(body):
    parts = [
        f"{key}={body[key]!s}"
        for key in (
            "stat",
            "stCode",
            "emsg",
            "errMsg",
            "message",
            "Error",
            "Error Message",
            "error",
        )
        if key in body
    ]
    return ", ".join(parts)[:500] or "a body without stat or data"


def is_empty_book_answer(body):
    """Kotak answers an empty order book with stat Not_Ok, stCode 5203 "No Data"."""
    if not isinstance(body, dict):
        return False
    return str(body.get("stCode")) == "5203" or str(body.get("emsg", "")).lower() == "no data"
