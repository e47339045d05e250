from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.templatetags.dashboard_format import (
    age,
    duration,
    indian_number,
    inr,
    ist,
    pnl_class,
    stats_summary,
)
from orderstate.display import group_indian


@pytest.mark.parametrize(
    ("digits", "grouped"),
    [
        ("0", "0"),
        ("999", "999"),
        ("1000", "1,000"),
        ("123456", "1,23,456"),
        ("1234567", "12,34,567"),
        ("12345678", "1,23,45,678"),
        ("1000000000", "1,00,00,00,000"),
    ],
)
def test_digits_group_in_lakhs_and_crores(digits, grouped):
    assert group_indian(digits) == grouped


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("123456.50"), "₹1,23,456.50"),
        (Decimal("123456.5"), "₹1,23,456.50"),
        (Decimal("0"), "₹0.00"),
        (Decimal("999.99"), "₹999.99"),
        (Decimal("10000000"), "₹1,00,00,000.00"),
        (Decimal("-1234"), "-₹1,234.00"),
        (Decimal("2450.5000"), "₹2,450.50"),
        ("1510.25", "₹1,510.25"),
        (42, "₹42.00"),
    ],
)
def test_inr_formats_rupees_with_indian_grouping_and_paise(value, text):
    assert inr(value) == text


def test_inr_rounds_half_paise_up():
    assert inr(Decimal("0.005")) == "₹0.01"
    assert inr(Decimal("1.994")) == "₹1.99"


def test_inr_of_a_loss_that_rounds_to_zero_has_no_minus_sign():
    assert inr(Decimal("-0.001")) == "₹0.00"


@pytest.mark.parametrize("value", [None, "", "not a number", float("nan"), Decimal("Infinity")])
def test_inr_of_missing_or_non_finite_value_is_a_dash(value):
    assert inr(value) == "—"


def test_indian_number_without_decimals_for_quantities():
    assert indian_number(150000, 0) == "1,50,000"
    assert indian_number(Decimal("7"), 0) == "7"


def test_pnl_class_tells_gain_from_loss():
    assert pnl_class(Decimal("10")) == "gain"
    assert pnl_class(Decimal("-0.01")) == "loss"
    assert pnl_class(Decimal("0")) == "flat"
    assert pnl_class(None) == "flat"


def test_times_are_shown_in_ist_whatever_the_input_zone():
    moment = datetime(2026, 11, 24, 22, 0, 5, tzinfo=UTC)
    assert ist(moment) == "25 Nov 2026, 03:30:05 IST"
    assert ist(moment, "date") == "25 Nov 2026"
    assert ist(None) == "—"


def test_durations_are_short():
    assert duration(timedelta(seconds=42)) == "42s"
    assert duration(timedelta(minutes=12, seconds=5)) == "12m"
    assert duration(timedelta(hours=3, minutes=5)) == "3h 5m"
    assert duration(timedelta(days=2, hours=4, minutes=1)) == "2d 4h"
    assert duration(None) == "—"


def test_age_counts_from_now():
    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    assert age(now - timedelta(minutes=90), now) == "1h 30m"


def test_stats_summary_lists_only_what_a_sync_counted():
    assert stats_summary({"checked": 12, "executed": 0, "missing": 2}) == "checked 12, missing 2"
    assert stats_summary({}) == "—"
