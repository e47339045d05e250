"""Positions and P&L from the lot ledger: the cases the old average-based positions got wrong."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orderstate.models import Lot, LotMatch, Position, Trade, TradeStatus

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(days=1)


def buy(manager, order_id, qty, price, symbol="ACME"):
    manager.register_buy_order(symbol, order_id, price, qty)
    return manager.mark_order_executed(symbol, order_id, price)


def sell(manager, order_id, qty, price, symbol="ACME"):
    manager.register_sell_order(symbol, order_id, price, qty)
    return manager.mark_order_executed(symbol, order_id, price)


def fill(manager, order_id, qty, price, at=None, *, side="BUY", symbol="ACME"):
    """Register an order and record one fill of it executed at `at`."""
    register = manager.register_buy_order if side == "BUY" else manager.register_sell_order
    register(symbol, order_id, price, qty)
    return manager.record_fill(order_id, qty, price, fill_id=f"F-{order_id}", at=at)


def realised(symbol="ACME"):
    return sum((trade.realised_pnl or 0) for trade in Trade.objects.filter(symbol=symbol))


def held(symbol="ACME"):
    return Position.objects.get(symbol=symbol).net_quantity


def test_sell_recorded_before_the_buy_it_sold_is_netted_against_that_buy(manager):
    buy(manager, "B1", 4, "99.00")
    sell(manager, "S1", 6, "110.00")  # 2 more than held: the bot saw its sell first
    assert held() == -2
    buy(manager, "B2", 6, "101.00")
    sell(manager, "S2", 4, "90.00")

    assert realised() == Decimal("18.00")
    assert held() == 0
    assert not Trade.objects.open().exists()


def test_a_whole_sell_recorded_before_its_buy_closes_when_the_buy_arrives(manager):
    sell(manager, "S1", 10, "110.00")
    assert Lot.objects.get().open_quantity == 10  # oversold, waiting for its buy
    buy(manager, "B1", 10, "100.00")

    trade = Trade.objects.get()
    assert (trade.status, trade.quantity, trade.closed_quantity) == (TradeStatus.CLOSED, 10, 10)
    assert trade.realised_pnl == Decimal("100.00")
    assert held() == 0


def test_re_entry_after_a_partial_sell_costs_the_shares_still_held_first(manager):
    buy(manager, "B1", 10, "100.00")
    sell(manager, "S1", 6, "120.00")
    buy(manager, "B2", 5, "110.00")
    sell(manager, "S2", 9, "120.00")

    trade = Trade.objects.get()
    assert trade.realised_pnl == Decimal("250.00")
    assert (trade.status, trade.quantity, trade.closed_quantity) == (TradeStatus.CLOSED, 15, 15)


def test_pnl_is_exact_to_the_paisa_however_many_partial_sells(manager):
    buy(manager, "B1", 1000, "100.00")
    buy(manager, "B2", 2000, "100.01")
    manager.register_sell_order("ACME", "S1", "101.00", 3000)
    for index in range(3):
        manager.record_fill("S1", 1000, "101.00", fill_id=f"F{index}")

    assert Trade.objects.get().realised_pnl == Decimal("2980.00")


def test_each_lot_keeps_its_date_and_cost(manager):
    buy(manager, "B1", 5, "100.50")

    lot = Lot.objects.get()
    assert (lot.quantity, lot.price, lot.cost) == (5, Decimal("100.5000"), Decimal("502.5000"))
    assert lot.at is not None and lot.order.broker_order_id == "B1"


def test_fills_recorded_out_of_execution_order_give_the_execution_order_result(manager):
    # Executed: buy 5 @100 (T0), buy 5 @110 (T0+1), sell 5 @120 (T0+2). Recorded backwards.
    fill(manager, "S1", 5, "120.00", T0 + timedelta(minutes=2), side="SELL")
    fill(manager, "B2", 5, "110.00", T0 + timedelta(minutes=1))
    fill(manager, "B1", 5, "100.00", T0)

    trade = Trade.objects.get()
    assert trade.realised_pnl == Decimal("100.00")  # first in, first out: 5 x (120 - 100)
    assert (trade.quantity, trade.closed_quantity, trade.status) == (10, 5, TradeStatus.OPEN)
    assert held() == 5
    assert LotMatch.objects.get().buy.order.broker_order_id == "B1"


def test_a_late_buy_before_a_closed_position_reopens_it_as_one_position(manager):
    fill(manager, "B1", 5, "100.00", T0)
    fill(manager, "S1", 5, "110.00", T0 + timedelta(minutes=2), side="SELL")
    assert Trade.objects.get().status == TradeStatus.CLOSED
    # A buy that executed after that sell, recorded now but dated between: it is a new trade.
    fill(manager, "B2", 3, "105.00", T0 + timedelta(minutes=3))
    fill(manager, "B0", 2, "90.00", T0 - timedelta(minutes=1))

    trades = list(Trade.objects.order_by("entry_time"))
    assert [(t.quantity, t.closed_quantity, t.status) for t in trades] == [
        (10, 5, TradeStatus.OPEN),
    ]
    # B0 (2 @90) and B1 (3 of 5 @100) were sold by S1, first in, first out.
    assert trades[0].realised_pnl == Decimal("2") * 20 + Decimal("3") * 10
    assert held() == 5
