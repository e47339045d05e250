"""A fill's execution time through the API: positions follow execution order, not arrival."""

from decimal import Decimal

import pytest

from orderstate.models import Trade
from tests.api.bodies import register

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def fill(api, order_id, qty, price, at):
    body = {"quantity": qty, "price": price, "fill_id": f"F-{order_id}", "at": at}
    return api.post(f"{ORDERS}{order_id}/fills/", body, format="json")


def test_fills_sent_newest_first_are_matched_in_execution_order(trader_api):
    for order_id, side in (("B1", "BUY"), ("B2", "BUY"), ("S1", "SELL")):
        register(trader_api, broker_order_id=order_id, side=side, quantity=5, price="100.00")
    assert fill(trader_api, "S1", 5, "120.00", "2026-11-02T10:02:00+05:30").status_code == 200
    assert fill(trader_api, "B2", 5, "110.00", "2026-11-02T10:01:00+05:30").status_code == 200
    assert fill(trader_api, "B1", 5, "100.00", "2026-11-02T10:00:00+05:30").status_code == 200

    trade = Trade.objects.get()
    assert trade.realised_pnl == Decimal("100.00")  # 5 x (120 - 100): the first bought, sold
    assert (trade.quantity, trade.closed_quantity) == (10, 5)


@pytest.mark.parametrize("at", ["yesterday", "1999-12-31T23:00:00+05:30", 12])
def test_an_unreadable_or_impossible_fill_time_is_400_naming_it(trader_api, at):
    register(trader_api, broker_order_id="B1", side="BUY", quantity=5, price="100.00")

    response = fill(trader_api, "B1", 5, "100.00", at)

    assert response.status_code == 400
    assert "at" in response.json()["fields"]
    assert not Trade.objects.exists()
