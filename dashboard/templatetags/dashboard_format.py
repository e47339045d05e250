"""Template filters for how traders in India read numbers and times.

Money uses the Indian grouping (lakh, crore: ₹1,23,45,678.50), times are shown
in IST whatever the server's zone, and ages are short ("3m", "2h 5m").
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import timezone

from orderstate.market import IST
from orderstate.money import PAISA

register = template.Library()

MINUS = "-"


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


def _decimal(value):
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


@register.filter
def indian_number(value, places=2):
    """A number with Indian digit grouping and a fixed count of decimal places."""
    number = _decimal(value)
    if number is None:
        return "—"
    places = int(places)
    quantum = Decimal(1).scaleb(-places)
    rounded = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = MINUS if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):.{places}f}".partition(".")
    text = group_indian(whole)
    return f"{sign}{text}.{fraction}" if places else f"{sign}{text}"


@register.filter
def inr(value):
    """Rupees with paise: ₹1,23,456.50; negative amounts as -₹1,234.00; missing as —."""
    number = _decimal(value)
    if number is None:
        return "—"
    text = indian_number(abs(number))
    sign = MINUS if number.quantize(PAISA, rounding=ROUND_HALF_UP) < 0 else ""
    return f"{sign}₹{text}"


@register.filter
def pnl_class(value):
    """CSS class for a profit or a loss, so colour is never the only signal."""
    number = _decimal(value)
    if number is None or number == 0:
        return "flat"
    return "gain" if number > 0 else "loss"


@register.filter
def ist(value, style="datetime"):
    """A moment in IST: '25 Nov 2026, 09:15:03 IST' (style 'date': '25 Nov 2026')."""
    if not value:
        return "—"
    local = timezone.localtime(value, IST) if timezone.is_aware(value) else value
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


@register.filter
def age(value, now=None):
    """Time since `value`, short."""
    if not value:
        return "—"
    return short_duration((now or timezone.now()) - value)


@register.filter
def duration(value):
    """A timedelta, short; — when missing."""
    if not isinstance(value, timedelta):
        return "—"
    return short_duration(value)


STATE_PROBLEM_KEYS = ("state_problems", "state_problem_codes")


@register.filter
def stats_summary(stats):
    """A sync's non-zero figures as 'checked 12, executed 2'; — when nothing counted."""
    figures = [
        f"{key} {_figure(key, value)}"
        for key, value in (stats or {}).items()
        if value and key not in STATE_PROBLEM_KEYS
    ]
    return ", ".join(figures) or "—"


def _figure(key, value):
    if key == "position_mismatches":
        return ", ".join(row.get("symbol", "?") for row in value)
    return value


@register.filter
def stat_value(value, key):
    """One figure of a sync's stats as a person reads it (the mismatched symbols, not rows)."""
    return _figure(key, value)


@register.filter
def state_problems(stats):
    """The check_state count after a sync, with its codes: '2 (unprotected_position 2)'.

    — when the run did not check (a dry or failed run, or one from before the check).
    """
    stats = stats or {}
    if stats.get("state_problems") is None:
        return "—"
    codes = ", ".join(f"{code} {n}" for code, n in stats.get("state_problem_codes", {}).items())
    return f"{stats['state_problems']} ({codes})" if codes else str(stats["state_problems"])
