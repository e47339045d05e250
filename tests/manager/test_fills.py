from decimal import Decimal

import pytest

from orderstate.errors import InvalidTransition, ValidationError
from orderstate.models import EventKind, Fill, Order, Trade
from orderstate.states import Status

pytestmark = pytest.mark.django_db


def test_a_partial_fill_moves_the_order_to_partially_filled(manager, sell_order):
    order = manager.record_fill("S-1", 4, "2500.00", fill_id="T1")

    assert order.status == Status.PARTIALLY_FILLED
    assert order.filled_quantity == 4
    assert order.average_price == Decimal("2500.00")
    assert order.version == 2


def test_fills_keep_a_weighted_average_price(manager, sell_order):
    manager.record_fill("S-1", 4, "2500.00", fill_id="T1")

    order = manager.record_fill("S-1", 2, "2503.00", fill_id="T2")

    assert order.average_price == Decimal("2501.0000")


def test_the_same_fill_id_twice_is_noop(manager, sell_order):
    manager.record_fill("S-1", 4, "2500.00", fill_id="T1")

    order = manager.record_fill("S-1", 4, "2500.00", fill_id="T1")

    assert order.filled_quantity == 4
    assert Fill.objects.count() == 1
    assert order.events.filter(kind=EventKind.FILL).count() == 1


def test_fills_without_an_id_all_count(manager, sell_order):
    manager.record_fill("S-1", 1, "2500")
    order = manager.record_fill("S-1", 1, "2500")

    assert order.filled_quantity == 2


def test_the_last_fill_executes_the_order_and_closes_the_trade(manager, sell_order):
    manager.record_fill("S-1", 6, "2500.00", fill_id="T1")

    order = manager.record_fill("S-1", 4, "2510.00", fill_id="T2")

    assert order.status == Status.EXECUTED
    assert order.closed_at is not None
    trade = Trade.objects.get()
    assert trade.status == "CLOSED"
    assert trade.realised_pnl == Decimal("1040.00")
    assert trade.exit_price == Decimal("2504.0000")


def test_a_partial_sell_fill_realises_part_of_the_pnl(manager, sell_order):
    manager.record_fill("S-1", 4, "2500.00")

    trade = Trade.objects.get()
    assert trade.status == "OPEN"
    assert trade.closed_quantity == 4
    assert trade.open_quantity == 6
    assert trade.realised_pnl == Decimal("400.00")
    event = sell_order.events.get(kind=EventKind.TRADE_UPDATED)
    assert event.data["position"] == "reduced"


def test_a_partial_buy_fill_is_already_a_position(manager):
    manager.register_buy_order("TCS", "B1", "3900", 10)

    manager.record_fill("B1", 3, "3899.50")

    trade = Trade.objects.get()
    assert (trade.quantity, trade.entry_price) == (3, Decimal("3899.50"))


def test_a_fill_above_the_remaining_quantity_is_refused(manager, sell_order):
    manager.record_fill("S-1", 8, "2500")

    with pytest.raises(ValidationError):
        manager.record_fill("S-1", 3, "2500")

    assert Order.objects.get(broker_order_id="S-1").filled_quantity == 8


def test_a_fill_on_a_closed_order_is_an_invalid_transition(manager, sell_order):
    manager.remove_from_tracking("RELIANCE", reason="manual")

    with pytest.raises(InvalidTransition):
        manager.record_fill("S-1", 1, "2500")

    assert Order.objects.get(broker_order_id="S-1").filled_quantity == 0


@pytest.mark.parametrize("qty", [0, -1, 2.5, "x", None])
def test_a_fill_of_a_bad_quantity_is_refused(manager, sell_order, qty):
    with pytest.raises(ValidationError):
        manager.record_fill("S-1", qty, "2500")

    assert not Fill.objects.exists()
