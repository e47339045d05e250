"""The failed-buy queue: one waiting entry per symbol, valid until the next market open
(09:15 IST on the next NSE trading day)."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from orderstate.actions import failed_orders
from orderstate.errors import ValidationError
from orderstate.models import EventKind, FailedOrder, FailedOrderStatus, OrderEvent

IST = ZoneInfo("Asia/Kolkata")
UTC = ZoneInfo("UTC")


def ist(*args):
    return datetime(*args, tzinfo=IST)


def failed_at(manager, moment, symbol="TCS-EQ", **kwargs):
    """Queue a failure as if the clock read `moment`."""
    kwargs.setdefault("qty", 5)
    kwargs.setdefault("close", "3890.00")
    return failed_orders.add(
        manager.ctx, symbol, kwargs.pop("ticker", "TCS.NS"), kwargs.pop("qty"),
        kwargs.pop("close"), kwargs.pop("reason", "insufficient funds"), kwargs, now=moment,
    )  # fmt: skip


def test_first_failure_creates_one_waiting_entry_for_the_base_symbol(manager):
    entry = manager.add_failed_order(
        "tcs-eq", "TCS.NS", qty=5, close=3890.0, reason="funds", rsi10=24.9
    )
    assert (entry.symbol, entry.trading_symbol, entry.status) == ("TCS", "TCS-EQ", "WAITING")
    assert entry.retry_count == 0
    assert entry.metadata == {"rsi10": 24.9}
    event = OrderEvent.objects.get(kind=EventKind.FAILED_ORDER)
    assert event.to_status == "WAITING" and event.data["failed_order_id"] == entry.pk


def test_repeat_updates_the_entry_and_bumps_retry_count(manager):
    first = manager.add_failed_order("TCS-EQ", "TCS.NS", qty=5, close=3890.0, reason="funds")
    again = manager.add_failed_order("TCS", None, qty=6, close="3901.50", reason="funds again")
    assert again.pk == first.pk
    assert FailedOrder.objects.count() == 1
    assert (again.retry_count, again.quantity, again.reference_price) == (1, 6, 3901.5)
    assert again.reason == "funds again"
    assert again.last_retry_at is not None


def test_repeat_without_ticker_or_close_keeps_the_recorded_ones(manager):
    manager.add_failed_order("TCS-EQ", "TCS.NS", qty=5, close=3890.0, reason="funds")
    again = manager.add_failed_order("TCS-EQ", qty=5)
    assert again.ticker == "TCS.NS"
    assert str(again.reference_price) == "3890.00"
    assert again.reason == "funds"


def test_bad_input_writes_nothing(manager):
    with pytest.raises(ValidationError):
        manager.add_failed_order("TCS-EQ", qty=0, close=3890.0)
    with pytest.raises(ValidationError):
        manager.add_failed_order("", qty=5)
    assert not FailedOrder.objects.exists()
    assert not OrderEvent.objects.exists()


# Fri 23 Oct 2026 16:05 IST: the next market open is Monday 26 Oct, 09:15 IST.
@pytest.mark.parametrize(
    ("now", "valid"),
    [
        (ist(2026, 10, 23, 18, 0), True),  # the evening it failed
        (ist(2026, 10, 23, 23, 59, 59), True),  # just before midnight
        (ist(2026, 10, 24, 0, 0, 1), True),  # just after midnight, Saturday
        (ist(2026, 10, 24, 9, 15), True),  # Saturday 09:15: no market
        (ist(2026, 10, 25, 15, 0), True),  # Sunday
        (ist(2026, 10, 26, 9, 14, 59), True),  # Monday before the open
        (ist(2026, 10, 26, 9, 15), False),  # the market opens
        (ist(2026, 10, 26, 15, 0), False),
        (ist(2026, 10, 27, 8, 0), False),  # the day after, even before the open
    ],
)
def test_friday_evening_failure_is_valid_until_monday_open(manager, now, valid):
    failed_at(manager, ist(2026, 10, 23, 16, 5))
    assert len(manager.get_failed_orders(now=now)) == (1 if valid else 0)


def test_utc_clock_is_read_in_ist(manager):
    failed_at(manager, ist(2026, 10, 23, 16, 5))
    # Monday 03:44 UTC is 09:14 IST (valid); 03:45 UTC is 09:15 IST (expired).
    assert manager.get_failed_orders(now=datetime(2026, 10, 26, 3, 44, tzinfo=UTC))
    assert not manager.get_failed_orders(now=datetime(2026, 10, 26, 3, 45, tzinfo=UTC))


def test_failure_after_midnight_ist_expires_at_that_mornings_open(manager):
    # 00:30 IST on Tuesday the 27th is 19:00 UTC on Monday the 26th: the IST time
    # decides, so the entry expires at 09:15 IST on the 27th, a few hours later.
    failed_at(manager, ist(2026, 10, 27, 0, 30))
    assert manager.get_failed_orders(now=ist(2026, 10, 27, 9, 14))
    assert not manager.get_failed_orders(now=ist(2026, 10, 27, 9, 15))


@override_settings(TIME_ZONE="UTC")
def test_expiry_honours_ist_when_the_server_time_zone_is_utc(manager):
    timezone.activate(UTC)
    try:
        failed_at(manager, datetime(2026, 10, 23, 10, 35, tzinfo=UTC))  # Friday 16:05 IST
        assert manager.get_failed_orders(now=datetime(2026, 10, 26, 3, 44, tzinfo=UTC))
        assert (
            manager.cleanup_expired_failed_orders(now=datetime(2026, 10, 26, 3, 44, tzinfo=UTC))
            == 0
        )
        assert (
            manager.cleanup_expired_failed_orders(now=datetime(2026, 10, 26, 3, 45, tzinfo=UTC))
            == 1
        )
    finally:
        timezone.deactivate()


def test_naive_clock_is_taken_as_ist(manager):
    failed_at(manager, ist(2026, 10, 23, 16, 5))
    assert manager.get_failed_orders(now=datetime(2026, 10, 26, 9, 14))
    assert not manager.get_failed_orders(now=datetime(2026, 10, 26, 9, 15))


def test_default_clock_is_now(manager, monkeypatch):
    failed_at(manager, ist(2026, 10, 23, 16, 5))
    monkeypatch.setattr(timezone, "now", lambda: ist(2026, 10, 26, 9, 0).astimezone(UTC))
    assert len(manager.get_failed_orders()) == 1
    monkeypatch.setattr(timezone, "now", lambda: ist(2026, 10, 26, 9, 30).astimezone(UTC))
    assert manager.get_failed_orders() == []


# The trading calendar ------------------------------------------------------------


def expiry_of(manager, moment):
    return failed_orders.expires_at(failed_at(manager, moment))


def test_failure_before_the_open_on_a_trading_day_expires_at_that_days_open(manager):
    failed_at(manager, ist(2026, 10, 27, 8, 0))  # Tuesday 08:00
    assert manager.get_failed_orders(now=ist(2026, 10, 27, 9, 14, 59))
    assert not manager.get_failed_orders(now=ist(2026, 10, 27, 9, 15))
    assert failed_orders.expires_at(FailedOrder.objects.get()) == ist(2026, 10, 27, 9, 15)


@pytest.mark.parametrize(
    ("failed", "expires"),
    [
        (ist(2026, 10, 23, 9, 30), ist(2026, 10, 26, 9, 15)),  # Friday: Monday
        (ist(2026, 3, 25, 9, 30), ist(2026, 3, 27, 9, 15)),  # Wednesday before Ram Navami
    ],
)
def test_failure_during_the_session_expires_at_the_next_trading_days_open(manager, failed, expires):
    assert expiry_of(manager, failed) == expires


def test_failure_at_the_open_itself_waits_for_the_next_open(manager):
    assert expiry_of(manager, ist(2026, 10, 23, 9, 15)) == ist(2026, 10, 26, 9, 15)


def test_failure_on_a_saturday_expires_at_mondays_open(manager):
    assert expiry_of(manager, ist(2026, 10, 24, 11, 0)) == ist(2026, 10, 26, 9, 15)


@pytest.mark.parametrize(
    ("now", "valid"),
    [
        (ist(2026, 1, 26, 9, 15), True),  # Republic Day: the exchange is closed
        (ist(2026, 1, 26, 15, 0), True),
        (ist(2026, 1, 27, 9, 14, 59), True),
        (ist(2026, 1, 27, 9, 15), False),  # Tuesday's open
    ],
)
def test_friday_failure_before_a_holiday_monday_is_valid_until_tuesday_open(manager, now, valid):
    failed_at(manager, ist(2026, 1, 23, 15, 0))
    assert len(manager.get_failed_orders(now=now)) == (1 if valid else 0)


def test_failure_on_an_exchange_holiday_expires_at_the_next_trading_days_open(manager):
    # Good Friday, 3 Apr 2026: the next trading day is Monday the 6th.
    assert expiry_of(manager, ist(2026, 4, 3, 11, 0)) == ist(2026, 4, 6, 9, 15)


def test_cleanup_on_a_holiday_monday_keeps_fridays_failure(manager):
    failed_at(manager, ist(2026, 1, 23, 15, 0))
    assert manager.cleanup_expired_failed_orders(now=ist(2026, 1, 26, 9, 15)) == 0
    assert manager.cleanup_expired_failed_orders(now=ist(2026, 1, 27, 9, 15)) == 1
    assert FailedOrder.objects.get().status == FailedOrderStatus.EXPIRED


def test_extra_holiday_setting_closes_a_day_the_library_does_not_know(manager, settings):
    # NSE closed Thursday 15 Jan 2026 for Maharashtra's municipal elections by a
    # circular of 12 Jan; the library's calendar has it open.
    failed = ist(2026, 1, 14, 16, 0)
    assert expiry_of(manager, failed) == ist(2026, 1, 15, 9, 15)
    settings.ORDERSTATE_EXTRA_HOLIDAYS = frozenset({date(2026, 1, 15)})
    assert failed_orders.expires_at(FailedOrder.objects.get()) == ist(2026, 1, 16, 9, 15)
    assert manager.get_failed_orders(now=ist(2026, 1, 15, 12, 0))


def test_extra_holiday_setting_can_make_a_holiday_monday(manager, settings):
    settings.ORDERSTATE_EXTRA_HOLIDAYS = frozenset({date(2026, 10, 26)})
    assert expiry_of(manager, ist(2026, 10, 23, 16, 5)) == ist(2026, 10, 27, 9, 15)


def test_extra_trading_day_setting_opens_a_weekend_session(manager, settings):
    # Budget day, Sunday 1 Feb 2026, had a full session.
    failed = ist(2026, 1, 30, 16, 0)
    assert expiry_of(manager, failed) == ist(2026, 2, 2, 9, 15)
    settings.ORDERSTATE_EXTRA_TRADING_DAYS = frozenset({date(2026, 2, 1)})
    assert failed_orders.expires_at(FailedOrder.objects.get()) == ist(2026, 2, 1, 9, 15)
    assert not manager.get_failed_orders(now=ist(2026, 2, 1, 9, 15))


def test_extra_trading_day_setting_overrides_a_library_holiday(manager, settings):
    settings.ORDERSTATE_EXTRA_TRADING_DAYS = frozenset({date(2026, 1, 26)})
    assert expiry_of(manager, ist(2026, 1, 23, 15, 0)) == ist(2026, 1, 26, 9, 15)


def test_market_open_setting_moves_the_expiry(manager, settings):
    settings.MARKET_OPEN = time(10, 0)
    failed_at(manager, ist(2026, 10, 27, 9, 30))  # before a 10:00 open
    assert manager.get_failed_orders(now=ist(2026, 10, 27, 9, 59))
    assert not manager.get_failed_orders(now=ist(2026, 10, 27, 10, 0))


@override_settings(TIME_ZONE="UTC")
def test_holiday_monday_gives_the_same_answer_on_a_utc_server(manager):
    timezone.activate(UTC)
    try:
        failed_at(manager, datetime(2026, 1, 23, 9, 30, tzinfo=UTC))  # Friday 15:00 IST
        assert failed_orders.expires_at(FailedOrder.objects.get()) == ist(2026, 1, 27, 9, 15)
        assert manager.get_failed_orders(now=datetime(2026, 1, 27, 3, 44, tzinfo=UTC))
        assert not manager.get_failed_orders(now=datetime(2026, 1, 27, 3, 45, tzinfo=UTC))
    finally:
        timezone.deactivate()


def test_a_repeat_on_monday_morning_counts_a_retry_of_fridays_entry(manager):
    first = failed_at(manager, ist(2026, 10, 23, 16, 5))
    again = failed_at(manager, ist(2026, 10, 26, 9, 0))
    assert again.pk == first.pk
    assert again.retry_count == 1


def test_cleanup_marks_expired_entries_and_counts_them(manager):
    failed_at(manager, ist(2026, 10, 22, 16, 0), symbol="SBIN-EQ")  # Thursday: Friday's open
    failed_at(manager, ist(2026, 10, 23, 16, 0), symbol="TCS-EQ")  # Friday: Monday's open
    assert manager.cleanup_expired_failed_orders(now=ist(2026, 10, 24, 9, 0)) == 1
    statuses = dict(FailedOrder.objects.values_list("symbol", "status"))
    assert statuses == {"SBIN": "EXPIRED", "TCS": "WAITING"}
    assert manager.cleanup_expired_failed_orders(now=ist(2026, 10, 24, 9, 0)) == 0
    assert manager.cleanup_expired_failed_orders(now=ist(2026, 10, 24, 9, 15)) == 0
    assert manager.cleanup_expired_failed_orders(now=ist(2026, 10, 26, 9, 15)) == 1


def test_failure_after_expiry_starts_a_new_entry(manager):
    old = failed_at(manager, ist(2026, 10, 22, 16, 0))
    new = failed_at(manager, ist(2026, 10, 24, 16, 0))
    assert new.pk != old.pk
    old.refresh_from_db()
    assert old.status == FailedOrderStatus.EXPIRED
    assert new.retry_count == 0


def test_get_failed_orders_returns_the_old_shape(manager):
    failed_at(manager, ist(2026, 10, 23, 16, 5), verdict="buy", shortfall=512.5)
    [shape] = manager.get_failed_orders(now=ist(2026, 10, 23, 17, 0))
    assert shape["symbol"] == "TCS-EQ"
    assert shape["close"] == 3890.0
    assert shape["first_failed_at"] == "2026-10-23T16:05:00"
    assert (shape["verdict"], shape["shortfall"]) == ("buy", 512.5)


def test_mark_retried_resolves_the_waiting_entry(manager):
    entry = manager.add_failed_order("TCS-EQ", "TCS.NS", qty=5, close=3890.0)
    assert manager.mark_failed_order_retried("tcs", "251024000777") is True
    entry.refresh_from_db()
    assert (entry.status, entry.retry_order_id) == ("RETRIED", "251024000777")
    assert manager.mark_failed_order_retried("TCS", "251024000778") is False
    assert manager.get_failed_orders() == []


def test_bought_manually_resolves_the_waiting_entry(manager):
    entry = manager.add_failed_order("TCS-EQ", "TCS.NS", qty=5, close=3890.0)
    assert failed_orders.resolve(manager.ctx, "TCS-EQ", "MANUAL-1", manual=True) is True
    entry.refresh_from_db()
    assert entry.status == FailedOrderStatus.BOUGHT_MANUALLY
