"""Reading Kotak Neo's values: prices and counts sent as strings, IST time texts, segments,
and the answers that mean "nothing today" or name an error.

Shared by the order book, trade book and positions parsers (and the order feed,
whose frames carry the order book's keys).
"""

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from orderstate.brokers.base import CASH_SEGMENTS, BadBrokerRow, OtherSegment
from orderstate.market import IST
from orderstate.money import AVERAGE_PLACES

EMPTY = ("", "NA", "--", None)
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
ERROR_KEYS = (
    "stat",
    "stCode",
    "code",
    "errMsg",
    "message",
    "desc",
    "description",
    "Error",
    "Error Message",
    "error",
)


def exchange_of(segment, order_id=None):
    """NSE or BSE for a cash segment (`nse_cm`, `bse_cm`); a row with no segment is taken
    as NSE cash (hand-made rows); any other segment raises OtherSegment."""
    if segment in EMPTY:
        return "NSE"
    text = str(segment).strip().lower()
    if text not in CASH_SEGMENTS:
        raise OtherSegment(f"segment {text!r} is not cash equities; skipped", order_id)
    return CASH_SEGMENTS[text]


def number_text(value):
    """Kotak sends counts as numbers or strings ("10", "10.0"); both are fine, "ten" is not."""
    if isinstance(value, str) and value.strip().endswith(".0"):
        return value.strip()[:-2]
    return value


def price(raw, name, order_id):
    """A price, or None where Kotak sends zero or nothing (market orders, no fills yet)."""
    if isinstance(raw, bool):
        raise BadBrokerRow(f"order {order_id}: {name} is a boolean")
    if raw in EMPTY:
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadBrokerRow(f"order {order_id}: {name} {raw!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BadBrokerRow(f"order {order_id}: {name} {raw!r} is not a price")
    return value.quantize(AVERAGE_PLACES) if value > 0 else None


def moment(raw, name, order_id):
    """An IST time text (`21-Jun-2022 14:49:32`, `2022/06/21 14:49:32`) as an aware datetime."""
    if raw in EMPTY:
        return None
    text = str(raw).strip()
    # The book's own format, parsed by hand: strptime costs more than the rest of a row.
    match = KOTAK_TIME.fullmatch(text)
    if match and match["month"].lower() in MONTHS:
        day, year, hour, minute, second = (
            int(match[key]) for key in ("day", "year", "hour", "minute", "second")
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
    raise BadBrokerRow(f"order {order_id}: {name} {text!r} is not a date like 21-Jun-2022 14:49:32")


def text(value):
    return "" if value in EMPTY else str(value).strip()


def kind(value):
    return "null" if value is None else type(value).__name__


def error_text(body):
    """The parts of an error body a person needs: status, code and the broker's words."""
    if not isinstance(body, dict):
        return repr(body)[:300]
    parts = [f"{key}={body[key]!s}" for key in ERROR_KEYS if key in body]
    return ", ".join(parts)[:500] or "a body without stat or data"


def is_empty_answer(body):
    """Kotak answers a book with nothing today with stat Not_Ok, stCode 5203, errMsg "No Data"."""
    if not isinstance(body, dict):
        return False
    return str(body.get("stCode")) == "5203" or str(body.get("errMsg", "")).lower() == "no data"
