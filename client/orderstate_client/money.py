"""Rupee amounts as Decimal: the paisa, the places of an average, and how prices land on them.

Here, in the client's distribution, so the bot rounds exactly as the server does
(the server imports it as `orderstate.money`).
"""

from decimal import ROUND_HALF_UP, Decimal

# The smallest amount of money, and the price tick of NSE/BSE cash equities.
PAISA = Decimal("0.01")
# Averages of several fills keep two more places than a price.
AVERAGE_PLACES = Decimal("0.0001")


def on_tick(price):
    """`price` as an order can carry it (whole paise), or None when it is not on the tick."""
    if price is None or price != price.quantize(PAISA):
        return None
    return price.quantize(PAISA)


def to_paise(amount):
    """An amount rounded to the paisa, halves away from zero (as brokers round P&L)."""
    return amount.quantize(PAISA, rounding=ROUND_HALF_UP)


def weighted_average(old_price, old_quantity, new_price, new_quantity):
    """The average price of `old_quantity` at `old_price` and `new_quantity` at `new_price`."""
    total = old_quantity + new_quantity
    value = (old_price or Decimal(0)) * old_quantity + new_price * new_quantity
    return (value / total).quantize(AVERAGE_PLACES)
