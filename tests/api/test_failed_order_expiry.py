"""The failed-buy queue's `expires_at` over HTTP follows NSE's trading calendar."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from orderstate.actions import failed_orders
from orderstate.market import IST

FAILED = "/api/v1/failed-orders/"
UTC = ZoneInfo("UTC")


def queued_at(manager, moment, symbol="TCS-EQ"):
    return failed_orders.add(
        manager.ctx, symbol, "TCS.NS", 5, "3500.00", "insufficient funds", {}, now=moment
    )


def test_friday_evening_failure_expires_at_mondays_open(trader_api, manager):
    entry = queued_at(manager, datetime(2026, 10, 23, 16, 5, tzinfo=IST))

    body = trader_api.get(f"{FAILED}{entry.pk}/").json()

    assert body["expires_at"] == "2026-10-26T09:15:00+05:30"


def test_failure_before_a_holiday_monday_expires_at_tuesdays_open(trader_api, manager):
    queued_at(manager, datetime(2026, 1, 23, 15, 0, tzinfo=IST))  # Mon 26 Jan: Republic Day

    [body] = trader_api.get(FAILED).json()["results"]

    assert body["expires_at"] == "2026-01-27T09:15:00+05:30"


def test_failure_at_0800_on_a_trading_day_expires_at_0915_that_day(trader_api, manager):
    entry = queued_at(manager, datetime(2026, 10, 27, 8, 0, tzinfo=IST))

    assert trader_api.get(f"{FAILED}{entry.pk}/").json()["expires_at"] == (
        "2026-10-27T09:15:00+05:30"
    )


def test_expiry_follows_the_extra_day_settings(trader_api, manager, settings):
    entry = queued_at(manager, datetime(2026, 1, 30, 16, 0, tzinfo=IST))  # Friday
    url = f"{FAILED}{entry.pk}/"
    assert trader_api.get(url).json()["expires_at"] == "2026-02-02T09:15:00+05:30"

    settings.ORDERSTATE_EXTRA_TRADING_DAYS = frozenset({date(2026, 2, 1)})  # Budget Sunday
    assert trader_api.get(url).json()["expires_at"] == "2026-02-01T09:15:00+05:30"

    settings.ORDERSTATE_EXTRA_TRADING_DAYS = frozenset()
    settings.ORDERSTATE_EXTRA_HOLIDAYS = frozenset({date(2026, 2, 2)})
    assert trader_api.get(url).json()["expires_at"] == "2026-02-03T09:15:00+05:30"


def test_queueing_on_friday_evening_answers_mondays_open(trader_api, monkeypatch):
    friday_evening = datetime(2026, 10, 23, 10, 35, tzinfo=UTC)  # 16:05 IST
    monkeypatch.setattr(timezone, "now", lambda: friday_evening)

    response = trader_api.post(
        FAILED, {"symbol": "TCS-EQ", "quantity": 5, "reason": "funds"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["expires_at"] == "2026-10-26T09:15:00+05:30"
