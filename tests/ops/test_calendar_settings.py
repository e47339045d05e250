"""The trading calendar's settings: read strictly, and a bad value stops start-up."""

from datetime import date, time

import pytest
from django.core.exceptions import ImproperlyConfigured

from orderstate.env import env_dates, env_time
from tests.ops.test_deploy_settings import manage, production_env


def test_extra_days_are_read_as_dates(monkeypatch):
    monkeypatch.setenv("ORDERSTATE_EXTRA_HOLIDAYS", " 2026-01-15, 2026-11-09 ,")
    assert env_dates("ORDERSTATE_EXTRA_HOLIDAYS") == {date(2026, 1, 15), date(2026, 11, 9)}


@pytest.mark.parametrize("value", ["", " ", None])
def test_no_extra_days_by_default(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("ORDERSTATE_EXTRA_TRADING_DAYS", raising=False)
    else:
        monkeypatch.setenv("ORDERSTATE_EXTRA_TRADING_DAYS", value)
    assert env_dates("ORDERSTATE_EXTRA_TRADING_DAYS") == frozenset()


@pytest.mark.parametrize("bad", ["2026-02-30", "15-01-2026", "20260115", "2026-W03-4", "soon"])
def test_a_bad_extra_day_names_the_variable_and_the_value(monkeypatch, bad):
    monkeypatch.setenv("ORDERSTATE_EXTRA_TRADING_DAYS", f"2026-02-01,{bad}")
    with pytest.raises(ImproperlyConfigured, match=f"ORDERSTATE_EXTRA_TRADING_DAYS.*'{bad}'"):
        env_dates("ORDERSTATE_EXTRA_TRADING_DAYS")


def test_market_open_is_read_as_a_time(monkeypatch):
    monkeypatch.setenv("ORDERSTATE_MARKET_OPEN", "9:30")
    assert env_time("ORDERSTATE_MARKET_OPEN", "09:15") == time(9, 30)
    monkeypatch.delenv("ORDERSTATE_MARKET_OPEN")
    assert env_time("ORDERSTATE_MARKET_OPEN", "09:15") == time(9, 15)


@pytest.mark.parametrize("bad", ["9.15", "24:00", "09:60", "09:15:00", "nine"])
def test_a_bad_market_open_names_the_variable(monkeypatch, bad):
    monkeypatch.setenv("ORDERSTATE_MARKET_OPEN", bad)
    with pytest.raises(ImproperlyConfigured, match="ORDERSTATE_MARKET_OPEN must be"):
        env_time("ORDERSTATE_MARKET_OPEN", "09:15")


def test_startup_refuses_a_malformed_extra_holiday(tmp_path):
    env = production_env(tmp_path, ORDERSTATE_EXTRA_HOLIDAYS="2026-01-15,2026/03/03")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "ORDERSTATE_EXTRA_HOLIDAYS must be comma-separated dates" in result.stderr


def test_startup_refuses_a_day_that_is_both_closed_and_open(tmp_path):
    env = production_env(
        tmp_path,
        ORDERSTATE_EXTRA_HOLIDAYS="2026-01-15,2026-02-01",
        ORDERSTATE_EXTRA_TRADING_DAYS="2026-02-01",
    )
    result = manage(env, "check")
    assert result.returncode != 0
    assert (
        "ORDERSTATE_EXTRA_HOLIDAYS and ORDERSTATE_EXTRA_TRADING_DAYS both name 2026-02-01"
        in result.stderr
    )


def test_startup_accepts_the_calendar_settings(tmp_path):
    env = production_env(
        tmp_path,
        ORDERSTATE_MARKET_OPEN="09:15",
        ORDERSTATE_EXTRA_HOLIDAYS="2026-01-15",
        ORDERSTATE_EXTRA_TRADING_DAYS="2026-02-01",
    )
    result = manage(env, "check")
    assert result.returncode == 0, result.stderr
