"""Field parsers for the old bot's records: loose JSON values to checked plain values.

Each raises `RecordError` whose message is the reason the record cannot be
imported, or appends a note on what it normalised.
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from orderstate.brokers.kotak_status import from_broker_status
from orderstate.errors import ValidationError
from orderstate.market import IST
from orderstate.money import to_paise
from orderstate.states import Status
from orderstate.validation import check_json_text, parse_order_id, parse_quantity, parse_symbol

FLOAT_NOISE = Decimal("0.000001")
# Kotak Neo's words for order types and varieties, as some bot versions stored them.
BROKER_WORDS = {"MKT": "MARKET", "L": "LIMIT", "LMT": "LIMIT", "SL-L": "SL", "NORMAL": "REGULAR"}
BROKER_TIME_FORMATS = ("%d-%b-%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S")


class RecordError(ValueError):
    """One record that cannot be imported; the message is the reason."""


def storable_text(record):
    """Refuse a record with text no database can store (a lone UTF-16 surrogate such as
    "\\ud800", which is valid JSON, or NUL) in any key or value, naming the field."""
    try:
        check_json_text(record, "record")
    except ValidationError as exc:
        raise RecordError(exc.detail) from None


def clean_text(value):
    return "" if value is None else str(value).strip()


def decimal(value, name, places, notes_out):
    """A positive Decimal rounded to `places`; float noise is rounded silently, more with a note."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: {value!r} is not a number")
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise RecordError(f"{name}: {value!r} is not a number") from None
    if not number.is_finite():
        raise RecordError(f"{name}: {value!r} is not a finite number")
    if number <= 0:
        raise RecordError(f"{name}: must be greater than zero, not {number}")
    step = Decimal(1).scaleb(-places)
    rounded = number.quantize(step, rounding=ROUND_HALF_UP)
    if abs(number - rounded) > FLOAT_NOISE:
        notes_out.append(f"{name} {number} rounded to {rounded}")
    return rounded


def money(value, name):
    """A signed amount (P&L) in rupees and paise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise RecordError(f"{name}: {value!r} is not a number") from None
    if isinstance(value, bool) or not number.is_finite():
        raise RecordError(f"{name}: {value!r} is not a finite number")
    return to_paise(number)


def moment(value, name):
    """Aware datetime; the old files wrote naive ISO text in IST (or the broker's format)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name}: {value!r} is not an ISO date-time")
    moment = _parse_time(value.strip())
    if moment is None:
        raise RecordError(f"{name}: {value!r} is not an ISO date-time")
    return moment.replace(tzinfo=IST) if moment.tzinfo is None else moment


def _parse_time(text):
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for layout in BROKER_TIME_FORMATS:
        try:
            return datetime.strptime(text, layout)
        except ValueError:
            continue
    return None


def is_zero(value):
    """The old bot wrote 0 for "no price" on market orders and unknown closes."""
    try:
        return not isinstance(value, bool) and Decimal(str(value).strip()) == 0
    except (InvalidOperation, ValueError):
        return False


def optional_price(record, key, notes, metadata):
    """A price, or None for null or 0 (kept in metadata so the export writes 0 back)."""
    value = record.get(key)
    if is_zero(value):
        notes.append(f"{key} {value} read as no {key}")
        metadata[key] = json_ready(value)
        return None
    return decimal(value, key, 2, notes)


def quantity(value, name, *, allow_zero=False):
    if value is None:
        raise RecordError(f"{name}: missing")
    try:
        return parse_quantity(value, name, allow_zero=allow_zero)
    except ValidationError as exc:
        raise RecordError(exc.detail) from None


def symbol(value, name="symbol"):
    try:
        return parse_symbol(value, name)
    except ValidationError as exc:
        raise RecordError(exc.detail) from None


def order_id(value, name="order_id"):
    try:
        return parse_order_id(value, name)
    except ValidationError as exc:
        raise RecordError(exc.detail) from None


def status(value, notes_out):
    text = clean_text(value)
    if not text:
        raise RecordError("status: missing")
    if text.upper() in Status.values:
        return Status(text.upper())
    mapped = from_broker_status(text)
    if mapped is None:
        raise RecordError(f"status: unknown status {value!r}")
    notes_out.append(f"status {value!r} read as {mapped}")
    return mapped


def choice(value, choices, name, default, notes_out):
    text = clean_text(value).upper()
    if not text:
        notes_out.append(f"{name} missing, taken as {default}")
        return default
    if text in BROKER_WORDS and BROKER_WORDS[text] in choices.values:
        notes_out.append(f"{name} {value!r} read as {BROKER_WORDS[text]}")
        return BROKER_WORDS[text]
    if text not in choices.values:
        raise RecordError(f"{name}: {value!r} is not one of {', '.join(choices.values)}")
    return text


def extras(record, known):
    return {key: value for key, value in record.items() if key not in known}


def json_ready(value):
    """Decimals parsed from the file back to JSON numbers for metadata."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_ready(item) for item in value]
    return value
