"""The trading calendar in orderstate.market: pure functions, no database, no settings."""

import subprocess
import sys
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from orderstate.market import IST, is_trading_day, next_market_open, nse_holidays
from tests.paths import ROOT

UTC = ZoneInfo("UTC")

# NSE's trading holidays for 2026 (circular CMTR71775), all on weekdays.
NSE_2026 = [
    date(2026, 1, 26),  # Republic Day
    date(2026, 3, 3),  # Holi (the `holidays` package had 4 Mar before 0.103)
    date(2026, 3, 26),  # Ram Navami
    date(2026, 3, 31),  # Mahavir Jayanti
    date(2026, 4, 3),  # Good Friday
    date(2026, 4, 14),  # Ambedkar Jayanti
    date(2026, 5, 1),  # Maharashtra Day
    date(2026, 5, 28),  # Bakri Id
    date(2026, 6, 26),  # Muharram
    date(2026, 9, 14),  # Ganesh Chaturthi
    date(2026, 10, 2),  # Gandhi Jayanti
    date(2026, 10, 20),  # Dussehra
    date(2026, 11, 10),  # Diwali Balipratipada
    date(2026, 11, 24),  # Guru Nanak Jayanti
    date(2026, 12, 25),  # Christmas
]


def ist(*args):
    return datetime(*args, tzinfo=IST)


def test_nse_2026_holidays_are_closed_and_the_days_around_them_open():
    assert sorted(nse_holidays(2026)) == NSE_2026
    for day in NSE_2026:
        assert not is_trading_day(day)
    assert is_trading_day(date(2026, 3, 4))  # the day after Holi
    assert is_trading_day(date(2026, 1, 27))


def test_weekends_are_closed_even_when_the_library_leaves_them_out():
    assert not is_trading_day(date(2026, 11, 7))  # Saturday
    assert not is_trading_day(date(2026, 11, 8))  # Sunday, Diwali Laxmi Pujan
    assert is_trading_day(date(2026, 11, 9))  # Monday


def test_extra_holidays_close_and_extra_trading_days_open():
    closed = {date(2026, 1, 15)}  # municipal elections, announced 12 Jan 2026
    budget_sunday = {date(2026, 2, 1)}
    assert is_trading_day(date(2026, 1, 15))
    assert not is_trading_day(date(2026, 1, 15), extra_holidays=closed)
    assert not is_trading_day(date(2026, 2, 1))
    assert is_trading_day(date(2026, 2, 1), extra_trading_days=budget_sunday)
    assert is_trading_day(date(2026, 1, 26), extra_trading_days={date(2026, 1, 26)})


def test_a_day_both_closed_and_open_is_refused():
    day = date(2026, 2, 1)
    with pytest.raises(ValueError, match="2026-02-01"):
        is_trading_day(day, extra_holidays={day}, extra_trading_days={day})
    with pytest.raises(ValueError, match="2026-02-01"):
        next_market_open(ist(2026, 1, 30, 16, 0), extra_holidays={day}, extra_trading_days={day})


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        (ist(2026, 10, 23, 16, 5), ist(2026, 10, 26, 9, 15)),  # Friday evening: Monday
        (ist(2026, 1, 23, 15, 0), ist(2026, 1, 27, 9, 15)),  # holiday Monday: Tuesday
        (ist(2026, 10, 27, 8, 0), ist(2026, 10, 27, 9, 15)),  # 08:00 on a trading day
        (ist(2026, 10, 27, 9, 14, 59, 999999), ist(2026, 10, 27, 9, 15)),
        (ist(2026, 10, 27, 9, 15), ist(2026, 10, 28, 9, 15)),  # strictly after
        (ist(2026, 10, 24, 11, 0), ist(2026, 10, 26, 9, 15)),  # Saturday
        (ist(2026, 4, 2, 16, 0), ist(2026, 4, 6, 9, 15)),  # Thursday before Good Friday
        (ist(2026, 12, 31, 16, 0), ist(2027, 1, 1, 9, 15)),  # into the next year
    ],
)
def test_next_market_open(moment, opens):
    assert next_market_open(moment) == opens


def test_next_market_open_is_in_ist_whatever_zone_the_moment_is_in():
    opens = next_market_open(datetime(2026, 10, 26, 19, 0, tzinfo=UTC))  # Tue 00:30 IST
    assert opens == ist(2026, 10, 27, 9, 15)
    assert opens.tzinfo == IST


def test_naive_moment_is_read_as_ist():
    assert next_market_open(datetime(2026, 10, 27, 8, 0)) == ist(2026, 10, 27, 9, 15)


def test_open_time_is_a_parameter():
    assert next_market_open(ist(2026, 10, 27, 9, 30), open_time=time(10, 0)) == ist(
        2026, 10, 27, 10, 0
    )


@pytest.mark.parametrize("year", [1999, 2150])
def test_years_the_library_does_not_cover_close_on_weekends_only(year):
    assert nse_holidays(year) == frozenset()
    friday = next(date(year, 1, d) for d in range(1, 8) if date(year, 1, d).weekday() == 4)
    monday = date(year, 1, friday.day + 3)
    opens = next_market_open(datetime.combine(friday, time(16, 0), tzinfo=IST))
    assert opens == datetime.combine(monday, time(9, 15), tzinfo=IST)
    assert is_trading_day(friday) and not is_trading_day(date(year, 1, friday.day + 1))


def test_a_long_run_of_extra_holidays_is_skipped():
    closed = {date(2026, 10, 26), date(2026, 10, 27), date(2026, 10, 28)}
    opens = next_market_open(ist(2026, 10, 23, 16, 5), extra_holidays=closed)
    assert opens == ist(2026, 10, 29, 9, 15)


def test_holidays_are_built_once_per_year():
    assert nse_holidays(2026) is nse_holidays(2026)


def test_the_bots_client_imports_without_the_holiday_library():
    code = "import sys, orderstate.client; print('holidays' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
