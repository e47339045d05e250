"""Parsing of the bot's loose input (floats, strings, any-case symbols) into checked values.

Every function raises `errors.ValidationError` naming the field, before anything is written.
Here, in the client's distribution, so the bot refuses bad input exactly as the server
does (the server imports it as `orderstate.validation`).
"""

import json
import math
import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from uuid import UUID

from orderstate_client.errors import ValidationError

MAX_QUANTITY = 10_000_000
MAX_PRICE = Decimal("100000000")  # ₹10 crore a share: far above any listed equity
PRICE_PLACES = 2
# Registration keywords that are order fields; any other keyword is the bot's metadata.
ORDER_OPTIONS = frozenset(
    {
        "account",
        "exchange",
        "order_type",
        "variety",
        "product",
        "trigger_price",
        "status",
        "placed_at",
        "replace",
    }
)
# Names the old keyword spelling would take as arguments, never as metadata: a metadata
# key of one of these names is refused, so the API and the Python call agree.
REGISTRATION_ARGUMENTS = frozenset({"side", "symbol", "order_id", "price", "qty", "ticker"})
FAILED_ORDER_ARGUMENTS = frozenset({"symbol", "ticker", "qty", "close", "reason"})
FLOAT_NOISE = Decimal("0.000001")

# NSE/BSE series suffixes of a trading symbol: RELIANCE-EQ, IDEA-BE, BAJAJ-AUTO-EQ.
_SERIES = r"EQ|BE|BZ|BL|SM|ST|GB|GS|IL|IV|MF|RR|E1|N[0-9A-Z]"
_SERIES_SUFFIX = re.compile(rf"-(?:{_SERIES})$")
_EXCHANGE_SUFFIX = re.compile(r"\.(?:NS|BO)$")
_SYMBOL = re.compile(r"^[A-Z0-9&][A-Z0-9&._-]{0,39}$")


def _fail(field, message):
    raise ValidationError(f"{field}: {message}", fields={field: [message]})


def parse_symbol(value, field="symbol"):
    """Return (trading_symbol, base_symbol) for RELIANCE, RELIANCE-EQ, reliance or RELIANCE.NS."""
    if not isinstance(value, str) or not value.strip():
        _fail(field, "must be a non-empty string")
    symbol = value.strip().upper()
    if not _SYMBOL.match(symbol):
        _fail(field, f"{value!r} is not a valid trading symbol")
    base = _EXCHANGE_SUFFIX.sub("", _SERIES_SUFFIX.sub("", symbol))
    if not base:
        _fail(field, f"{value!r} has no base symbol")
    trading = symbol if _SERIES_SUFFIX.search(symbol) else base
    return trading, base


def base_symbol(value, field="symbol"):
    return parse_symbol(value, field)[1]


def parse_quantity(value, field="qty", *, allow_zero=False):
    if isinstance(value, bool):
        _fail(field, "must be a whole number, not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            _fail(field, f"must be a whole number, not {value!r}")
        value = int(value)
    elif isinstance(value, str):
        if not re.fullmatch(r"\s*[+-]?\d{1,12}\s*", value):
            _fail(field, f"must be a whole number, not {value!r}")
        value = int(value)
    elif isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            _fail(field, f"must be a whole number, not {value}")
        value = int(value)
    elif not isinstance(value, int):
        _fail(field, f"must be a whole number, not {type(value).__name__}")
    lowest = 0 if allow_zero else 1
    if value < lowest:
        _fail(field, f"must be at least {lowest}, not {value}")
    if value > MAX_QUANTITY:
        _fail(field, f"must be at most {MAX_QUANTITY}, not {value}")
    return value


def parse_price(value, field="price", *, places=PRICE_PLACES):
    """A positive Decimal with at most `places` decimals; floats go through their repr."""
    if isinstance(value, bool) or value is None:
        _fail(field, "must be a positive number")
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                _fail(field, f"must be a finite number, not {value!r}")
            price = Decimal(repr(value))
        elif isinstance(value, int | str | Decimal):
            price = Decimal(str(value).strip())
        else:
            _fail(field, f"must be a number, not {type(value).__name__}")
    except InvalidOperation:
        _fail(field, f"{value!r} is not a number")
    if not price.is_finite():
        _fail(field, f"must be a finite number, not {value!r}")
    if price <= 0:
        _fail(field, f"must be greater than zero, not {price}")
    if price > MAX_PRICE:
        _fail(field, f"must be at most {MAX_PRICE}, not {price}")
    step = Decimal(1).scaleb(-places)
    rounded = price.quantize(step)
    # A float computed by the bot (entry * 1.05) carries binary noise such as
    # 2520.0000000000005; that is the price 2520.00, while 2520.005 is not.
    tolerance = FLOAT_NOISE if isinstance(value, float) else 0
    if abs(price - rounded) > tolerance:
        _fail(field, f"has more than {places} decimal places: {price}")
    return rounded


def parse_optional_price(value, field="price", **kwargs):
    return None if value is None else parse_price(value, field, **kwargs)


def parse_choice(value, choices, field):
    if isinstance(value, str) and value.strip().upper() in choices.values:
        return choices(value.strip().upper())
    allowed = ", ".join(choices.values)
    _fail(field, f"{value!r} is not one of {allowed}")


# Path segments a URL cannot carry as an id: HTTP clients resolve dot segments, and a
# slash (or a backslash, which browsers read as one) splits the segment.
UNADDRESSABLE_IDS = frozenset({".", ".."})
PATH_SEPARATORS = ("/", "\\")


def parse_order_id(value, field="order_id"):
    """An id the API can address as one URL path segment (`/orders/<id>/`) and read back."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        _fail(field, "must be a string or a whole number")
    text = str(value).strip()
    if not text or len(text) > 64 or not text.isprintable():
        _fail(field, "must be 1 to 64 printable characters")
    if text in UNADDRESSABLE_IDS or any(sep in text for sep in PATH_SEPARATORS):
        _fail(field, f"{text!r} cannot be addressed in a URL path: no '/', '\\', '.' or '..'")
    return text


UNSTORABLE = "holds a lone UTF-16 surrogate (e.g. \\ud800), text no database can store"


def is_storable(text):
    """False for text with a lone UTF-16 surrogate ("\\ud800" is valid JSON): it cannot be
    written as UTF-8, so SQLite refuses it or returns it unreadable and PostgreSQL refuses
    it; and for NUL, which PostgreSQL refuses."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def printable_name(text):
    """`text` safe to show in an error message (surrogates and NUL escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def check_storable(value, field):
    """Refuse text the service could not store and serve back; returns it unchanged."""
    if isinstance(value, str) and not is_storable(value):
        message = "text may not contain NUL characters" if "\x00" in value else UNSTORABLE
        _fail(field, message)
    return value


def parse_text(value, field, max_length):
    """Free text (a ticker, an exchange, a note): stripped, "" for None, and storable."""
    if value is None:
        return ""
    if not isinstance(value, str):
        _fail(field, "must be a string")
    check_storable(value, field)
    if len(value) > max_length:
        _fail(field, f"must be at most {max_length} characters")
    return value.strip()


def parse_reason(value, field="reason", max_length=500):
    return parse_text(value, field, max_length)


def parse_ticker(value, field="ticker"):
    """The bot's ticker (RELIANCE.NS), cut to the 40 characters the column holds."""
    return parse_text(value, field, 1000)[:40]


def _json_default(item):
    if isinstance(item, Decimal | UUID):
        return str(item)
    if isinstance(item, date | time):
        return item.isoformat()
    raise TypeError(f"{type(item).__name__} is not JSON")


def parse_metadata(value, field="metadata"):
    """The bot's extra fields as plain JSON: no NaN, and only storable text in keys and
    values at any depth (the error names the path, e.g. `metadata.signals.0`)."""
    try:
        text = json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        _fail(field, f"not storable as JSON ({printable_name(str(exc))})")
    parsed = json.loads(text)
    check_json_text(parsed, field)
    return parsed


def check_json_text(value, path):
    """Refuse unstorable text anywhere in parsed JSON, naming the path of the first found."""
    if isinstance(value, str):
        check_storable(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not is_storable(key):
                _fail(path or "body", f"the key '{printable_name(key)}' {UNSTORABLE_KEY}")
            check_json_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_text(item, f"{path}.{index}" if path else str(index))


UNSTORABLE_KEY = "is text no database can store (a lone UTF-16 surrogate or NUL)"


def split_order_options(keywords):
    """(order options, metadata) of the old `register_*_order(..., **keywords)` spelling."""
    options = {name: value for name, value in keywords.items() if name in ORDER_OPTIONS}
    metadata = {name: value for name, value in keywords.items() if name not in ORDER_OPTIONS}
    return options, metadata


def default_order_type(side, price):
    """The order type a registration without one gets: MARKET for a BUY without a price."""
    return "MARKET" if str(side).strip().upper() == "BUY" and price is None else "LIMIT"


def parse_moment(value, field="at"):
    """A timezone-aware date-time, so no moment is shifted by the server's own zone."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        _fail(field, "must be a timezone-aware date-time")
    if not 2000 <= value.year < 2100:
        _fail(field, f"must be between 2000 and 2100, not {value.isoformat()}")
    return value
