"""How traders in India read numbers and times, for the dashboard and for notifications.

Money uses the Indian grouping (lakh, crore: ₹1,23,45,678.50), times are shown
in IST whatever the server's zone, and ages are short ("3m", "2h 5m"). Django-free,
so a message to a phone reads exactly like the page.
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from orderstate.market import IST
from orderstate.money import PAISA

MINUS = "-"
MISSING = "—"


def group_indian(digits):
    """'12345678' -> '1,23,45,678': the last three digits, then pairs."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])


def as_decimal(value):
    """A finite Decimal from a number or its text, or None."""
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def indian_number(value, places=2):
    """A number with Indian digit grouping and a fixed count of decimal places."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    places = int(places)
    quantum = Decimal(1).scaleb(-places)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = MINUS if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):.{places}f}".partition(".")
    text = group_indian(whole)
    return f"{sign}{text}.{fraction}" if places else f"{sign}{text}"


def inr(value):
    """Rupees with paise: ₹1,23,456.50; negative amounts as -₹1,234.00; missing as —."""
    number = as_decimal(value)
    if number is None:
        return MISSING
    text = indian_number(abs(number))
    sign = MINUS if number.quantize(PAISA, rounding=ROUND_HALF_UP) < 0 else ""
    return f"{sign}₹{text}"


def ist(value, style="datetime"):
    """A moment in IST: '25 Nov 2026, 09:15:03 IST' (style 'date': '25 Nov 2026')."""
    if not value:
        return MISSING
    local = value.astimezone(IST) if isinstance(value, datetime) and value.tzinfo else value
    if style == "date":
        return local.strftime("%d %b %Y")
    if style == "time":
        return local.strftime("%H:%M:%S IST")
    return local.strftime("%d %b %Y, %H:%M:%S IST")


def short_duration(delta):
    """'45s', '12m', '3h 5m', '2d 4h': enough to judge at a glance."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"
