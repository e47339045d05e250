from decimal import Decimal

import pytest

from orderstate.errors import InvalidTransition, StaleVersion, ValidationError
from orderstate.models import EventKind, Order
from orderstate.states import Status

pytestmark = pytest.mark.django_db


def test_update_sell_order_price_moves_the_target(manager, sell_order):
    assert manager.update_sell_order_price("reliance", 2550.5) is True

    order = Order.objects.get(broker_order_id="S-1")
    assert order.price == Decimal("2550.50")
    assert order.version == 2
    event = order.events.get(kind=EventKind.PRICE_UPDATED)
    assert event.data == {"from": "2500.00", "to": "2550.50"}


def test_update_sell_order_price_without_an_active_order_returns_false(manager):
    assert manager.update_sell_order_price("RELIANCE", 2550) is False


def test_update_price_with_a_stale_version_changes_nothing(manager, sell_order):
    manager.update_sell_order_price("RELIANCE", 2550)

    with pytest.raises(StaleVersion):
        manager.update_price("S-1", 2600, expected_version=1)

    assert Order.objects.get(broker_order_id="S-1").price == Decimal("2550.00")


def test_update_price_of_a_closed_order_is_an_invalid_transition(manager, sell_order):
    manager.mark_order_executed("RELIANCE", "S-1", 2500)

    with pytest.raises(InvalidTransition):
        manager.update_price("S-1", 2600)

    order = Order.objects.get(broker_order_id="S-1")
    assert (order.status, order.price, order.version) == (Status.EXECUTED, Decimal("2500.00"), 2)


def test_remove_from_tracking_without_an_order_returns_false(manager):
    assert manager.remove_from_tracking("RELIANCE") is False


def test_remove_from_tracking_cancels_with_the_reason(manager, sell_order):
    assert manager.remove_from_tracking("RELIANCE-EQ", reason="target moved") is True

    order = Order.objects.get(broker_order_id="S-1")
    assert (order.status, order.status_reason) == (Status.CANCELLED, "target moved")
    assert order.closed_at is not None
    assert manager.get_active_sell_orders() == {}


def test_remove_from_tracking_can_record_a_rejection(manager, sell_order):
    manager.remove_from_tracking("RELIANCE", reason="RMS: margin", status="REJECTED")

    assert Order.objects.get(broker_order_id="S-1").status == Status.REJECTED


def test_remove_from_tracking_refuses_other_statuses(manager, sell_order):
    with pytest.raises(ValidationError):
        manager.remove_from_tracking("RELIANCE", status="EXECUTED")

    assert Order.objects.get(broker_order_id="S-1").status == Status.PENDING


def test_cancel_twice_is_noop(manager, sell_order):
    first = manager.cancel_order("S-1", reason="stop")

    again = manager.cancel_order("S-1", reason="stop")

    assert again.version == first.version
    assert again.events.filter(kind=EventKind.CANCELLED).count() == 1


def test_cancel_of_an_executed_order_is_an_invalid_transition(manager, sell_order):
    manager.mark_order_executed("RELIANCE", "S-1", 2500)

    with pytest.raises(InvalidTransition):
        manager.cancel_order("S-1")

    order = Order.objects.get(broker_order_id="S-1")
    assert (order.status, order.status_reason) == (Status.EXECUTED, "")


def test_a_partially_filled_order_cannot_be_rejected(manager, sell_order):
    manager.record_fill("S-1", 2, 2500)

    with pytest.raises(InvalidTransition):
        manager.cancel_order("S-1", status="REJECTED")

    order = Order.objects.get(broker_order_id="S-1")
    assert (order.status, order.filled_quantity) == (Status.PARTIALLY_FILLED, 2)


def test_pending_orders_lists_active_orders_in_the_old_shape(manager, sell_order):
    pending = manager.get_pending_orders()

    assert [o["order_id"] for o in pending] == ["S-1"]
    entry = pending[0]
    assert entry["status"] == "PENDING"
    assert entry["qty"] == 10
    assert entry["price"] == 2500.0
    assert entry["executed_qty"] == 0
    assert entry["symbol"] == "RELIANCE-EQ"
    assert entry["ticker"] == "RELIANCE.NS"


def test_pending_orders_filter_by_status(manager, sell_order):
    assert [o["order_id"] for o in manager.get_pending_orders("EXECUTED")] == ["B-1"]
    assert [o["order_id"] for o in manager.get_pending_orders(["pending"])] == ["S-1"]


def test_pending_orders_refuse_an_unknown_status(manager):
    with pytest.raises(ValidationError):
        manager.get_pending_orders("LOST")


def test_trade_history_uses_the_old_shapes(manager, sell_order):
    manager.mark_order_executed("RELIANCE", "S-1", 2510)
    manager.add_failed_order("TCS-EQ", "TCS.NS", qty=5, close=3900.5, reason="insufficient funds")

    history = manager.get_trade_history()

    (trade,) = history["trades"]
    assert trade["symbol"] == "RELIANCE"
    assert trade["status"] == "closed"
    assert trade["order_id"] == "B-1"
    assert trade["sell_order_id"] == "S-1"
    assert (trade["entry_price"], trade["exit_price"], trade["qty"]) == (2400.0, 2510.0, 10)
    assert trade["pnl"] == 1100.0
    assert trade["pnl_pct"] == 4.58
    assert trade["entry_time"] and trade["exit_time"]
    (failed,) = history["failed_orders"]
    assert failed["symbol"] == "TCS-EQ"
    assert (failed["qty"], failed["close"], failed["retry_count"]) == (5, 3900.5, 0)
    assert failed["reason"] == "insufficient funds"
