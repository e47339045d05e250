from decimal import Decimal

import pytest

from orderstate_client.errors import ValidationError
from orderstate_client.validation import parse_price, parse_quantity, parse_symbol


@pytest.mark.parametrize(
    ("raw", "trading", "base"),
    [
        ("RELIANCE", "RELIANCE", "RELIANCE"),
        ("reliance-eq", "RELIANCE-EQ", "RELIANCE"),
        ("RELIANCE.NS", "RELIANCE", "RELIANCE"),
        ("BAJAJ-AUTO-EQ", "BAJAJ-AUTO-EQ", "BAJAJ-AUTO"),
        ("BAJAJ-AUTO", "BAJAJ-AUTO", "BAJAJ-AUTO"),
        ("M&M-EQ", "M&M-EQ", "M&M"),
        ("IDEA-BE", "IDEA-BE", "IDEA"),
    ],
)
def test_symbols_resolve_to_trading_and_base_symbol(raw, trading, base):
    assert parse_symbol(raw) == (trading, base)


@pytest.mark.parametrize("raw", ["", "-EQ", "TCS;DROP", "A" * 41, 42, "T\u0421S"])
def test_malformed_symbols_are_refused(raw):
    with pytest.raises(ValidationError):
        parse_symbol(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(2500.1, Decimal("2500.10")), ("2500", Decimal("2500.00")), (7, Decimal("7.00"))],
)
def test_prices_become_two_place_decimals(raw, expected):
    assert parse_price(raw) == expected


def test_float_noise_from_the_bots_arithmetic_is_rounded_away():
    assert parse_price(2400 * 1.05) == Decimal("2520.00")
    assert parse_price(0.1 + 0.2) == Decimal("0.30")


@pytest.mark.parametrize("raw", [2520.005, "2520.001", Decimal("0.001")])
def test_prices_finer_than_a_paisa_are_refused(raw):
    with pytest.raises(ValidationError):
        parse_price(raw)


@pytest.mark.parametrize("raw", [10, "10", 10.0, Decimal("10")])
def test_whole_quantities_in_any_form_are_accepted(raw):
    assert parse_quantity(raw) == 10


def test_huge_quantities_are_refused():
    with pytest.raises(ValidationError):
        parse_quantity(10**12)
