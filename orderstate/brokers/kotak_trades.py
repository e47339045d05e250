"""Kotak Neo's `trade_report` body (docs/functions/orders/trade_report.md), parsed into a
`TradeBook`: one `BrokerFill` per fill, with its own id (`flId`), quantity (`fldQty`),
price (`avgPrc`, the price of that fill) and time (`flDt` + `flTm`, IST).

The trade book lists the day's fills of every order; a fill id seen twice is one fill.
"""

from datetime import datetime

from orderstate.brokers.base import (
    BadBrokerRow,
    BrokerFill,
    BrokerUnavailable,
    OtherSegment,
    TradeBook,
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
)
from orderstate.brokers.kotak_report import SIDES
from orderstate.errors import ValidationError
from orderstate.validation import parse_order_id, parse_quantity, parse_symbol


def parse_trade_report(body):
    """A `trade_report` body (`{"stat": "ok", "data": [...]}`, or 5203 "No Data") as a TradeBook."""
    if isinstance(body, list):
        return parse_fill_rows(body)
    if not isinstance(body, dict):
        raise BrokerUnavailable(f"trade book: expected a JSON object or list, got {kind(body)}")
    stat = body.get("stat")
    if is_empty_answer(body):
        return TradeBook()
    if str(stat).lower() != "ok":
        raise BrokerUnavailable(f"trade book: broker answered {error_text(body)}")
    rows = body.get("data")
    if rows is None:
        return TradeBook()
    if not isinstance(rows, list):
        raise BrokerUnavailable(f"trade book: 'data' is {kind(rows)}, not a list")
    return parse_fill_rows(rows)


def parse_fill_rows(rows):
    fills, errors, skipped, seen = [], [], 0, set()
    for index, row in enumerate(rows):
        try:
            fill = parse_fill(row)
        except OtherSegment:
            skipped += 1
            continue
        except BadBrokerRow as exc:
            errors.append(f"trade row {index}: {exc}")
            continue
        if (fill.order_id, fill.fill_id) not in seen:
            seen.add((fill.order_id, fill.fill_id))
            fills.append(fill)
    return TradeBook(fills, errors, skipped)


def parse_fill(row):
    """One trade-book row as a BrokerFill; raises BadBrokerRow naming what is wrong."""
    if not isinstance(row, dict):
        raise BadBrokerRow(f"expected an object, got {kind(row)}")
    order_id = row.get("nOrdNo")
    exchange_of(row.get("exSeg"), order_id)
    try:
        order_id = parse_order_id(_required(row, "nOrdNo", order_id), "nOrdNo")
        fill_id = parse_order_id(_required(row, "flId", order_id), "flId")
        quantity = parse_quantity(number_text(_required(row, "fldQty", order_id)), "fldQty")
        symbol = row.get("trdSym") if row.get("trdSym") not in EMPTY else row.get("sym")
        base = parse_symbol(symbol, "trdSym")[1] if symbol not in EMPTY else ""
    except ValidationError as exc:
        raise BadBrokerRow(f"order {order_id}: {exc.detail}", order_id) from None
    fill_price = price(row.get("avgPrc"), "avgPrc", order_id)
    if fill_price is None:
        raise BadBrokerRow(f"order {order_id}: fill {fill_id} has no price", order_id)
    return BrokerFill(
        order_id=order_id,
        fill_id=fill_id,
        quantity=quantity,
        price=fill_price,
        at=_fill_time(row, order_id),
        base_symbol=base,
        side=SIDES.get(str(row.get("trnsTp", "")).strip().upper()),
    )


def _required(row, key, order_id):
    value = row.get(key)
    if value in EMPTY:
        raise BadBrokerRow(f"order {order_id}: missing {key}", order_id)
    return value


def _fill_time(row, order_id):
    """`flDt` "22-Jan-2025" and `flTm` "14:28:16" together; the exchange's `exTm` without them."""
    day, clock = row.get("flDt"), row.get("flTm")
    if day not in EMPTY and clock not in EMPTY:
        at = moment(f"{str(day).strip()} {str(clock).strip()}", "flDt/flTm", order_id)
    else:
        at = moment(row.get("exTm"), "exTm", order_id)
    if not isinstance(at, datetime):
        raise BadBrokerRow(f"order {order_id}: fill without flDt/flTm", order_id)
    return at
