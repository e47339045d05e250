import pytest

from orderstate import sync
from orderstate.brokers import get_broker
from orderstate.brokers.paper import PaperBroker
from orderstate.models import Order, PaperOrder, SyncOutcome, Trade, TradeStatus
from orderstate.states import Status

pytestmark = pytest.mark.django_db


def books(seed, steps):
    broker = PaperBroker(seed=seed)
    return [
        [(o.order_id, o.filled_quantity, o.broker_status) for o in broker.fetch_order_book()]
        for _ in range(steps)
    ]


def test_registered_orders_are_accepted_into_the_paper_book(manager):
    manager.register_sell_order("TCS-EQ", "P1", "4050.00", 5)

    book = PaperBroker(seed=1).fetch_order_book()

    assert [order.order_id for order in book] == ["P1"]
    assert PaperOrder.objects.get().order_id == "P1"


def test_same_seed_gives_the_same_book_step_for_step(manager):
    manager.register_sell_order("TCS-EQ", "P2", "4050.00", 30)
    manager.register_buy_order("INFY-EQ", "P3", "1510.00", 12)
    first = books(seed=3, steps=8)
    PaperOrder.objects.all().delete()

    assert books(seed=3, steps=8) == first


def test_market_order_fills_on_the_first_step(manager):
    manager.register_buy_order("ITC-EQ", "P4", None, 4)

    (order,) = PaperBroker(seed=1).fetch_order_book()

    assert order.status == Status.EXECUTED
    assert order.filled_quantity == 4


def test_orders_move_to_executed_through_syncs(manager):
    manager.register_buy_order("RELIANCE-EQ", "P5", "2450.00", 10)
    broker = PaperBroker(seed=7)

    seen = set()
    for _ in range(60):
        run = sync.run_sync(broker=broker)
        assert run.outcome == SyncOutcome.OK
        seen.add(manager.get_order("P5").status)
        if manager.get_order("P5").status == Status.EXECUTED:
            break

    assert Status.PARTIALLY_FILLED in seen
    assert manager.get_order("P5").status == Status.EXECUTED
    assert Trade.objects.get(symbol="RELIANCE", status=TradeStatus.OPEN).quantity == 10


def test_order_we_stop_tracking_is_cancelled_in_the_paper_book(manager):
    manager.register_sell_order("TCS-EQ", "P6", "9999.00", 5)
    broker = PaperBroker(seed=1)
    broker.fetch_order_book()
    manager.cancel_order("P6", reason="changed our mind")

    (order,) = broker.fetch_order_book()

    assert order.status == Status.CANCELLED
    run = sync.run_sync(broker=broker)
    assert run.stats["late_fills"] == 0
    assert manager.get_order("P6").status == Status.CANCELLED


def test_paper_is_the_default_broker(settings):
    settings.ORDERSTATE_BROKER = "paper"
    assert isinstance(get_broker(), PaperBroker)


def test_broker_setting_may_be_a_dotted_path_to_a_class(settings):
    settings.ORDERSTATE_BROKER = "orderstate.brokers.paper.PaperBroker"
    assert isinstance(get_broker(), PaperBroker)


def test_unknown_broker_name_lists_the_choices():
    with pytest.raises(ValueError, match="paper, kotak, replay or a dotted path"):
        get_broker("zerodha")


def test_a_dotted_path_that_does_not_import_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot be imported"):
        get_broker("orderstate.brokers.nowhere.Broker")


def test_paper_fills_make_a_trade_book_the_sync_records_once(manager):
    manager.register_buy_order("TCS", "P-9", "100.00", 9)
    broker = PaperBroker(seed=1)
    for _ in range(40):
        sync.run_sync(broker=broker)

    order = Order.objects.get(broker_order_id="P-9")
    fills = broker.fetch_trade_book()
    assert order.status == Status.EXECUTED
    assert sum(fill.quantity for fill in fills) == 9 and len(fills) == 3
    assert order.exact_filled_quantity == 9
    assert order.fills.count() == 3  # each fill once, however many syncs saw it
