"""The manager's side of the sync: one order follows the broker's report of it."""

from decimal import Decimal

import pytest

from orderstate.errors import InvalidTransition, OrderNotFound, ValidationError
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, Lot, Order, Trade
from orderstate.states import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def sync():
    return OrderStateManager(source="sync")


def test_broker_execution_executes_and_closes_the_trade(sync, sell_order):
    order, changes = sync.apply_broker_update(
        "S-1",
        status=Status.EXECUTED,
        filled_quantity=10,
        average_price=Decimal("2505.10"),
        broker_status="complete",
    )

    assert changes == ["executed"]
    assert (order.status, order.filled_quantity) == (Status.EXECUTED, 10)
    assert order.average_price == Decimal("2505.10")
    assert order.broker_status == "complete"
    assert Trade.objects.get().realised_pnl == Decimal("1051.00")


def test_broker_partial_fill_uses_the_cumulative_average(sync, sell_order):
    sync.apply_broker_update(
        "S-1", status=Status.OPEN, filled_quantity=4, average_price=Decimal("2500")
    )

    order, changes = sync.apply_broker_update(
        "S-1", status=Status.OPEN, filled_quantity=6, average_price=Decimal("2501")
    )

    assert changes == ["partially_filled"]
    assert (order.status, order.filled_quantity) == (Status.PARTIALLY_FILLED, 6)
    assert order.average_price == Decimal("2501.0000")
    assert Trade.objects.get().realised_pnl == Decimal("606.00")


def test_a_fill_inferred_from_the_average_keeps_the_orders_value_to_the_ten_thousandth(
    sync, manager
):
    """2 @ 3449.00 counted, then 5 @ 3449.20 in all: the 3 more cost 10348.00, which no one
    four-place price gives, so they are 2 @ 3449.3333 and 1 @ 3449.3334."""
    manager.register_buy_order("TCS-EQ", "B-1", "3449.00", 5)
    sync.apply_broker_update(
        "B-1", status=Status.OPEN, filled_quantity=2, average_price=Decimal(3449)
    )

    order, _ = sync.apply_broker_update(
        "B-1", status=Status.EXECUTED, filled_quantity=5, average_price=Decimal("3449.20")
    )

    lots = sorted((lot.quantity, lot.price) for lot in Lot.objects.filter(order=order))
    assert lots == [(1, Decimal("3449.3334")), (2, Decimal("3449.0000")), (2, Decimal("3449.3333"))]
    assert sum(qty * price for qty, price in lots) == Decimal("17246.0000")
    assert Trade.objects.get(entry_order=order).entry_price == Decimal("3449.2000")


def test_filled_quantity_never_goes_down(sync, sell_order):
    sync.apply_broker_update("S-1", status=Status.OPEN, filled_quantity=4, average_price=2500)

    order, changes = sync.apply_broker_update("S-1", status=Status.OPEN, filled_quantity=2)

    assert order.filled_quantity == 4
    assert changes == []


def test_broker_rejection_keeps_the_reason(sync, sell_order):
    order, changes = sync.apply_broker_update(
        "S-1",
        status=Status.REJECTED,
        filled_quantity=0,
        broker_status="rejected",
        reason="RMS:Margin Exceeds",
    )

    assert changes == ["rejected"]
    assert (order.status, order.status_reason) == (Status.REJECTED, "RMS:Margin Exceeds")


def test_a_fill_after_our_own_cancel_is_applied_as_a_late_fill(manager, sync, sell_order):
    manager.remove_from_tracking("RELIANCE", reason="bot stopped tracking")

    order, changes = sync.apply_broker_update(
        "S-1",
        status=Status.EXECUTED,
        filled_quantity=10,
        average_price=Decimal("2500"),
        broker_status="complete",
    )

    assert changes == ["late_fill"]
    assert order.status == Status.EXECUTED
    late = order.events.get(kind=EventKind.LATE_FILL)
    assert (late.from_status, late.to_status, late.source) == ("CANCELLED", "EXECUTED", "sync")
    assert Trade.objects.get().status == "CLOSED"


def test_a_late_partial_fill_reopens_the_order_when_the_broker_still_works_it(
    manager, sync, sell_order
):
    manager.remove_from_tracking("RELIANCE")

    order, _ = sync.apply_broker_update(
        "S-1", status=Status.OPEN, filled_quantity=3, average_price=2500
    )

    assert (order.status, order.filled_quantity) == (Status.PARTIALLY_FILLED, 3)


def test_a_late_fill_never_reopens_over_a_newer_sell_order(manager, sync, sell_order):
    manager.register_sell_order("RELIANCE", "S-2", 2600, 10, replace=True)

    order, changes = sync.apply_broker_update(
        "S-1", status=Status.OPEN, filled_quantity=3, average_price=2500
    )

    assert changes == ["late_fill"]
    assert (order.status, order.filled_quantity) == (Status.CANCELLED, 3)
    assert manager.get_active_order("RELIANCE")["order_id"] == "S-2"


def test_only_the_sync_applies_fills_to_a_cancelled_order(manager, sell_order):
    manager.remove_from_tracking("RELIANCE")

    with pytest.raises(InvalidTransition):
        manager.record_fill("S-1", 10, 2500)
    with pytest.raises(InvalidTransition):
        manager.mark_order_executed("RELIANCE", "S-1", 2500)


def test_an_unknown_broker_status_only_records_the_text(sync, sell_order):
    order, changes = sync.apply_broker_update(
        "S-1", status=None, filled_quantity=0, broker_status="mystery state"
    )

    assert changes == ["unknown_status"]
    assert (order.status, order.broker_status, order.version) == (
        Status.PENDING,
        "mystery state",
        1,
    )


def test_a_broker_price_change_updates_the_target(sync, sell_order):
    order, changes = sync.apply_broker_update(
        "S-1",
        status=Status.OPEN,
        filled_quantity=0,
        price=Decimal("2520.00"),
        broker_status="modified",
    )

    assert changes == ["open", "price_updated"]
    assert (order.status, order.price) == (Status.OPEN, Decimal("2520.00"))


def test_a_broker_report_of_more_than_the_quantity_is_refused(sync, sell_order):
    with pytest.raises(ValidationError):
        sync.apply_broker_update("S-1", status=Status.OPEN, filled_quantity=11, average_price=1)

    assert Order.objects.get(broker_order_id="S-1").filled_quantity == 0


def test_missing_orders_are_counted_then_flagged(sync, sell_order):
    for _ in range(3):
        sync.mark_missing([sell_order.pk], threshold=3)

    order = Order.objects.get(pk=sell_order.pk)
    assert order.missing_count == 3
    assert order.status == Status.PENDING
    assert order.events.filter(kind=EventKind.FLAGGED).count() == 1

    sync.mark_synced([order.pk])
    assert Order.objects.get(pk=order.pk).missing_count == 0


def test_a_fill_the_sync_already_counted_is_not_counted_again(manager, sync, sell_order):
    sync.apply_broker_update("S-1", status=Status.OPEN, filled_quantity=4, average_price=2500)

    order = manager.record_fill("S-1", 4, "2500.00", fill_id="T1")

    assert order.filled_quantity == 4
    assert order.fills.count() == 1
    assert order.events.filter(kind=EventKind.FILL, data__already_counted=True).exists()
    assert Trade.objects.get().closed_quantity == 4


def test_the_sync_does_not_count_again_fills_the_bot_reported(manager, sync, sell_order):
    manager.record_fill("S-1", 4, "2500.00", fill_id="T1")

    order, changes = sync.apply_broker_update(
        "S-1", status=Status.OPEN, filled_quantity=4, average_price=2500
    )

    assert (order.filled_quantity, changes) == (4, [])


def test_bot_and_broker_fills_count_as_the_larger_total(manager, sync, sell_order):
    manager.record_fill("S-1", 4, "2500.00", fill_id="T1")
    sync.apply_broker_update("S-1", status=Status.OPEN, filled_quantity=6, average_price=2500)

    order = manager.record_fill("S-1", 2, "2500.00", fill_id="T2")
    assert order.filled_quantity == 6
    order = manager.record_fill("S-1", 3, "2500.00", fill_id="T3")
    assert order.filled_quantity == 9
    assert Trade.objects.get().closed_quantity == 9


def test_a_bot_fill_after_the_sync_executed_the_order_is_recorded_without_change(
    manager, sync, sell_order
):
    sync.apply_broker_update("S-1", status=Status.EXECUTED, filled_quantity=10, average_price=2500)

    order = manager.record_fill("S-1", 10, "2500.00", fill_id="T1")

    assert (order.status, order.filled_quantity) == (Status.EXECUTED, 10)
    assert Trade.objects.get().closed_quantity == 10


def test_a_failing_report_in_a_batch_is_handed_back_and_the_others_applied(sync):
    for symbol, order_id in (("TCS", "B-1"), ("INFY", "B-2"), ("ITC", "B-3")):
        sync.register_buy_order(symbol, order_id, "100.00", 10)
    pks = dict(Order.objects.values_list("broker_order_id", "pk"))
    executed = {"status": Status.EXECUTED, "filled_quantity": 10, "broker_status": "complete"}
    too_many = {"status": Status.OPEN, "filled_quantity": 11, "broker_status": "open"}

    outcomes = sync.apply_broker_updates(
        [(pks["B-1"], executed), (pks["B-2"], too_many), (pks["B-3"], executed), (0, executed)]
    )

    assert outcomes[0] == ["executed"] and outcomes[2] == ["executed"]
    assert isinstance(outcomes[1], ValidationError)
    assert isinstance(outcomes[3], OrderNotFound)
    statuses = dict(Order.objects.values_list("broker_order_id", "status"))
    assert statuses == {"B-1": Status.EXECUTED, "B-2": Status.PENDING, "B-3": Status.EXECUTED}
    untouched = Order.objects.get(broker_order_id="B-2")
    assert (untouched.version, untouched.events.count()) == (1, 1)
    assert sorted(Trade.objects.values_list("symbol", flat=True)) == ["ITC", "TCS"]
