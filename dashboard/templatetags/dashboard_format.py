"""Template filters for how traders in India read numbers and times.

Money in the Indian grouping, times in IST and short ages come from
`orderstate.display`, which notifications share; the filters here are the
dashboard's own.
"""

from datetime import timedelta

from django import template
from django.utils import timezone

from orderstate.display import (
    MISSING,
    as_decimal,
    indian_number,
    inr,
    ist,
    short_duration,
)

register = template.Library()

for _filter in (indian_number, inr, ist):
    register.filter(_filter.__name__, _filter)


@register.filter
def pnl_class(value):
    """CSS class for a profit or a loss, so colour is never the only signal."""
    number = as_decimal(value)
    if number is None or number == 0:
        return "flat"
    return "gain" if number > 0 else "loss"


@register.filter
def age(value, now=None):
    """Time since `value`, short."""
    if not value:
        return MISSING
    return short_duration((now or timezone.now()) - value)


@register.filter
def duration(value):
    """A timedelta, short; — when missing."""
    if not isinstance(value, timedelta):
        return MISSING
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
def state_problems(stats):
    """The check_state count after a sync, with its codes: '2 (unprotected_position 2)'.

    — when the run did not check (a dry or failed run, or one from before the check).
    """
    stats = stats or {}
    if stats.get("state_problems") is None:
        return "—"
    codes = ", ".join(f"{code} {n}" for code, n in stats.get("state_problem_codes", {}).items())
    return f"{stats['state_problems']} ({codes})" if codes else str(stats["state_problems"])
