from decimal import Decimal

import pytest

from orderstate.actions import ledger
from orderstate.errors import InvalidTransition, OrderNotFound, ValidationError
from orderstate.models import EventKind, Order, OrderEvent, Trade
from orderstate.states import Status

pytestmark = pytest.mark.django_db


def test_executing_a_buy_opens_a_trade(manager):
    manager.register_buy_order("INFY-EQ", "B1", None, 12, "INFY.NS", rsi10=25.0)

    order = manager.mark_order_executed("INFY", "B1", "1510.25")

    trade = Trade.objects.get()
    assert order.status == Status.EXECUTED
    assert order.filled_quantity == 12
    assert order.average_price == Decimal("1510.25")
    assert order.trade == trade
    assert (trade.symbol, trade.quantity, trade.entry_price) == ("INFY", 12, Decimal("1510.25"))
    assert trade.entry_order == order
    assert trade.status == "OPEN"


def test_executing_a_sell_closes_the_trade_with_realised_pnl(manager, sell_order):
    manager.mark_order_executed("RELIANCE-EQ", "S-1", 2510.0)

    trade = Trade.objects.get()
    assert trade.status == "CLOSED"
    assert trade.exit_price == Decimal("2510.00")
    assert trade.realised_pnl == Decimal("1100.00")
    assert trade.exit_order.broker_order_id == "S-1"
    assert trade.exit_time is not None
    assert manager.get_active_sell_orders() == {}


def test_sell_execution_writes_order_and_trade_events_together(manager, sell_order):
    manager.mark_order_executed("RELIANCE", "S-1", 2510)

    kinds = list(sell_order.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [EventKind.REGISTERED, EventKind.EXECUTED, EventKind.TRADE_CLOSED]


def test_a_second_buy_adds_to_the_open_trade_at_the_weighted_price(manager, open_position):
    manager.register_buy_order("RELIANCE", "B-2", None, 10)

    manager.mark_order_executed("RELIANCE", "B-2", "2300.00")

    trade = Trade.objects.get()
    assert trade.quantity == 20
    assert trade.entry_price == Decimal("2350.0000")


def test_execute_twice_is_noop(manager, sell_order):
    first = manager.mark_order_executed("RELIANCE", "S-1", 2510.0)
    events = OrderEvent.objects.count()

    again = manager.mark_order_executed("RELIANCE", "S-1", "2510.00")

    assert again.version == first.version
    assert OrderEvent.objects.count() == events


def test_execute_again_at_another_price_is_an_invalid_transition(manager, sell_order):
    manager.mark_order_executed("RELIANCE", "S-1", 2510.0)

    with pytest.raises(InvalidTransition):
        manager.mark_order_executed("RELIANCE", "S-1", 2520.0)

    assert Order.objects.get(broker_order_id="S-1").average_price == Decimal("2510")


def test_executing_a_cancelled_order_is_an_invalid_transition(manager, sell_order):
    manager.remove_from_tracking("RELIANCE", reason="manual")

    with pytest.raises(InvalidTransition):
        manager.mark_order_executed("RELIANCE", "S-1", 2510.0)

    assert Order.objects.get(broker_order_id="S-1").status == Status.CANCELLED
    assert Trade.objects.get().status == "OPEN"


def test_executing_with_another_symbol_is_refused(manager, sell_order):
    with pytest.raises(ValidationError):
        manager.mark_order_executed("TCS", "S-1", 2510.0)

    assert Order.objects.get(broker_order_id="S-1").status == Status.PENDING


def test_executing_less_than_the_order_quantity_is_refused(manager, sell_order):
    with pytest.raises(ValidationError) as raised:
        manager.mark_order_executed("RELIANCE", "S-1", 2510.0, execution_qty=4)

    assert "execution_qty" in raised.value.fields


def test_without_an_order_id_the_symbols_active_sell_order_is_executed(manager, sell_order):
    order = manager.mark_order_executed("RELIANCE", None, 2505)

    assert order.broker_order_id == "S-1"
    assert order.status == Status.EXECUTED


def test_executing_an_unknown_order_raises_not_found(manager):
    with pytest.raises(OrderNotFound):
        manager.mark_order_executed("RELIANCE", "nope", 2505)


def test_a_crash_while_updating_the_trade_leaves_nothing_half_written(
    manager, sell_order, monkeypatch
):
    events = OrderEvent.objects.count()

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(ledger.Book, "_sell", crash)
    with pytest.raises(RuntimeError):
        manager.mark_order_executed("RELIANCE", "S-1", 2510)

    order = Order.objects.get(broker_order_id="S-1")
    assert (order.status, order.filled_quantity, order.version) == (Status.PENDING, 0, 1)
    assert Trade.objects.get().status == "OPEN"
    assert OrderEvent.objects.count() == events


@pytest.mark.parametrize(
    ("quantity", "value", "parts"),
    [
        (3, "10348", [(2, "3449.3333"), (1, "3449.3334")]),
        (4, "10000", [(4, "2500.0000")]),
    ],
)
def test_parts_worth_add_up_to_the_value_exactly(quantity, value, parts):
    got = ledger.parts_worth(quantity, Decimal(value), at=None)

    assert [(part.quantity, part.price) for part in got] == [
        (qty, Decimal(price)) for qty, price in parts
    ]
    assert sum(part.quantity * part.price for part in got) == Decimal(value)


def test_parts_worth_gives_no_price_below_a_ten_thousandth():
    assert ledger.parts_worth(3, Decimal("0.0002"), at=None) is None
