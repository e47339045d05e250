"""Market time and the trading calendar: India Standard Time, whatever the server's own zone.

IST and `legacy_time` are the client's (`orderstate_client.market`), so the bot
writes times exactly as the server does; the calendar is the server's alone.
Free of Django: the server reads its calendar settings and passes them in (see
`orderstate.actions.failed_orders`).

A trading day is a weekday that is not an NSE trading holiday, or a day named
as an extra trading day (a special session, e.g. a Budget-day Sunday). NSE's
holidays come from the `holidays` package's XNSE calendar, plus the extra
holidays passed in (closures announced after the library's release).
"""

from datetime import datetime, time, timedelta
from functools import cache

from orderstate_client.market import IST, legacy_time

__all__ = [
    "IST",
    "MARKET_OPEN",
    "is_trading_day",
    "legacy_time",
    "next_market_open",
    "nse_holidays",
]

MARKET_OPEN = time(9, 15)


@cache
def nse_holidays(year):
    """NSE's trading holidays in `year` as the `holidays` package knows them.

    Weekdays only: the library leaves out festivals that fall on a weekend. Empty
    for years the library has no data for (before 2001, after 2100), so those
    years close on weekends only. Built once per year and process.
    """
    # Imported here: the library takes about 150 ms to import, and most processes
    # (the bot's requests, the sync) never consult the calendar.
    import holidays

    return frozenset(holidays.financial_holidays("XNSE", years=year))


def is_trading_day(day, *, extra_holidays=(), extra_trading_days=()):
    """True when NSE trades on `day` (a date): see the module docstring.

    A day in both `extra_holidays` and `extra_trading_days` is a contradiction
    and raises ValueError.
    """
    _refuse_overlap(extra_holidays, extra_trading_days)
    return _is_trading_day(day, extra_holidays, extra_trading_days)


def next_market_open(moment, *, open_time=MARKET_OPEN, extra_holidays=(), extra_trading_days=()):
    """The first market open strictly after `moment`, an aware datetime in IST.

    A naive `moment` is read as IST. On a trading day before the open that is
    the same day's open; at or after it, the next trading day's.
    """
    _refuse_overlap(extra_holidays, extra_trading_days)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    moment = moment.astimezone(IST)
    day = moment.date()
    if moment.time() >= open_time:
        day += timedelta(days=1)
    # Ends: a week always has weekdays, and the extra holidays are finitely many.
    while not _is_trading_day(day, extra_holidays, extra_trading_days):
        day += timedelta(days=1)
    return datetime.combine(day, open_time, tzinfo=IST)


def _is_trading_day(day, extra_holidays, extra_trading_days):
    if day in extra_trading_days:
        return True
    if day in extra_holidays or day.weekday() >= 5:
        return False
    return day not in nse_holidays(day.year)


def _refuse_overlap(extra_holidays, extra_trading_days):
    both = set(extra_holidays) & set(extra_trading_days)
    if both:
        days = ", ".join(sorted(day.isoformat() for day in both))
        raise ValueError(f"a day cannot be both an extra holiday and an extra trading day: {days}")
