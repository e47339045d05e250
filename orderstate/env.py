"""Strict readers of the environment, so a typo in production fails loudly at start."""

import os
import re
from datetime import date, time

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default=None):
    """Read NAME, or the contents of the file named by NAME_FILE (for secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    return os.environ.get(name, default)


def env_bool(name, default=False):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name, default, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name, default=()):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")


def env_rate(name, default):
    """A request rate as DRF reads it (`100/s`, `6000/min`), checked at start, not per request."""
    raw = (os.environ.get(name) or default).strip()
    count, _, period = raw.partition("/")
    if not count.isdigit() or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(
            f"{name} must look like 100/s, 6000/min, 1000/hour or 10000/day, not {raw!r}"
        )
    return raw


def env_time(name, default):
    """A time of day as `HH:MM` (24-hour); NAME_FILE works as for env_str."""
    raw = env_str(name) or default
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ImproperlyConfigured(f"{name} must be a time of day as HH:MM, not {raw!r}")
    return time(int(match[1]), int(match[2]))


def env_dates(name):
    """Comma-separated calendar dates as `YYYY-MM-DD`, as a frozenset of dates."""
    days = set()
    for item in env_list(name):
        day = _iso_date(item)
        if day is None:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated dates as YYYY-MM-DD, not {item!r}"
            )
        days.add(day)
    return frozenset(days)


def _iso_date(text):
    """The date `YYYY-MM-DD` names, or None (no week dates or compact forms)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:  # 2026-02-30
            return None
    return None
