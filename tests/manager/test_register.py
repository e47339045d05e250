from decimal import Decimal

import pytest

from orderstate.errors import DuplicateOrder, ValidationError
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, Order, OrderEvent
from orderstate.states import Status

pytestmark = pytest.mark.django_db


def test_register_sell_order_creates_pending_order_with_metadata(manager):
    order = manager.register_sell_order(
        symbol="RELIANCE-EQ",
        order_id="12345",
        target_price=2500.0,
        qty=10,
        ticker="RELIANCE.NS",
        rsi10=28.4,
        ema9=2450.5,
    )
    order.refresh_from_db()
    assert order.status == Status.PENDING
    assert order.side == "SELL"
    assert order.symbol == "RELIANCE-EQ"
    assert order.base_symbol == "RELIANCE"
    assert order.price == Decimal("2500.00")
    assert order.quantity == 10
    assert order.metadata == {"rsi10": 28.4, "ema9": 2450.5}
    assert order.version == 1


def test_active_sell_orders_use_the_old_bots_shape(manager):
    manager.register_sell_order("RELIANCE-EQ", "12345", 2500.0, 10, ticker="RELIANCE.NS")

    active = manager.get_active_sell_orders()

    assert list(active) == ["RELIANCE"]
    entry = active["RELIANCE"]
    assert entry["order_id"] == "12345"
    assert entry["target_price"] == 2500.0 and isinstance(entry["target_price"], float)
    assert entry["qty"] == 10 and isinstance(entry["qty"], int)
    assert entry["symbol"] == "RELIANCE-EQ"
    assert entry["ticker"] == "RELIANCE.NS"


@pytest.mark.parametrize("form", ["RELIANCE", "reliance", "RELIANCE-EQ", " Reliance-eq "])
def test_any_symbol_form_finds_the_active_order(manager, form):
    manager.register_sell_order("RELIANCE-EQ", "12345", 2500.0, 10)

    assert manager.get_active_order(form)["order_id"] == "12345"


def test_registration_writes_one_registered_event(manager):
    order = manager.register_sell_order("TCS", "1", "3900.50", 5)

    events = list(OrderEvent.objects.filter(order=order))
    assert [(e.kind, e.from_status, e.to_status, e.source) for e in events] == [
        (EventKind.REGISTERED, "", Status.PENDING, "api")
    ]


def test_repeat_registration_with_same_fields_returns_existing_order(manager):
    first = manager.register_sell_order("TCS-EQ", "1", 3900.5, 5)

    again = manager.register_sell_order("tcs", "1", "3900.50", 5)

    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert OrderEvent.objects.count() == 1


def test_same_order_id_with_other_fields_is_a_duplicate(manager):
    manager.register_sell_order("TCS", "1", 3900.5, 5)

    with pytest.raises(DuplicateOrder) as raised:
        manager.register_sell_order("TCS", "1", 3901, 5)

    assert "price" in raised.value.fields
    assert Order.objects.get().price == Decimal("3900.50")


def test_second_active_sell_for_a_symbol_is_a_duplicate(manager):
    manager.register_sell_order("TCS", "1", 3900, 5)

    with pytest.raises(DuplicateOrder):
        manager.register_sell_order("TCS-EQ", "2", 3950, 5)

    assert list(Order.objects.values_list("broker_order_id", flat=True)) == ["1"]


def test_replace_cancels_the_old_sell_order_and_registers_the_new(manager):
    old = manager.register_sell_order("TCS", "1", 3900, 5)

    new = manager.register_sell_order("TCS", "2", 3950, 5, replace=True)

    old.refresh_from_db()
    assert old.status == Status.CANCELLED
    assert old.status_reason == "replaced by 2"
    assert old.events.filter(kind=EventKind.REPLACED).exists()
    assert new.status == Status.PENDING
    assert manager.get_active_sell_orders()["TCS"]["order_id"] == "2"


def test_a_new_sell_order_is_allowed_once_the_old_one_is_closed(manager):
    manager.register_sell_order("TCS", "1", 3900, 5)
    manager.remove_from_tracking("TCS", reason="moved target")

    order = manager.register_sell_order("TCS", "2", 3950, 5)

    assert order.status == Status.PENDING


def test_market_buy_needs_no_price(manager):
    order = manager.register_buy_order("INFY-EQ", "B1", None, 12, "INFY.NS")

    assert order.price is None
    assert order.order_type == "MARKET"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "1", 100, 1), "symbol"),
        (("   ", "1", 100, 1), "symbol"),
        (("REL IANCE", "1", 100, 1), "symbol"),
        ((None, "1", 100, 1), "symbol"),
        (("TCS", "", 100, 1), "order_id"),
        (("TCS", "1", 100, 0), "qty"),
        (("TCS", "1", 100, -5), "qty"),
        (("TCS", "1", 100, 1.5), "qty"),
        (("TCS", "1", 100, True), "qty"),
        (("TCS", "1", 100, "ten"), "qty"),
        (("TCS", "1", 0, 1), "price"),
        (("TCS", "1", -1, 1), "price"),
        (("TCS", "1", float("nan"), 1), "price"),
        (("TCS", "1", float("inf"), 1), "price"),
        (("TCS", "1", "NaN", 1), "price"),
        (("TCS", "1", "Infinity", 1), "price"),
        (("TCS", "1", "abc", 1), "price"),
        (("TCS", "1", "100.123", 1), "price"),
        (("TCS", "1", None, 1), "price"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(manager, args, field):
    with pytest.raises(ValidationError) as raised:
        manager.register_sell_order(*args)

    assert field in raised.value.fields
    assert not Order.objects.exists()
    assert not OrderEvent.objects.exists()


def test_unknown_side_is_refused(manager):
    with pytest.raises(ValidationError) as raised:
        manager.register_order("HOLD", "TCS", "1", 100, 1)

    assert "side" in raised.value.fields


def test_metadata_that_is_not_json_is_refused(manager):
    with pytest.raises(ValidationError):
        manager.register_sell_order("TCS", "1", 100, 1, rsi10=float("nan"))

    assert not Order.objects.exists()


def test_unknown_event_source_is_refused():
    with pytest.raises(ValidationError):
        OrderStateManager(source="telepathy")


def test_metadata_with_a_nul_character_is_refused(manager):
    with pytest.raises(ValidationError):
        manager.register_sell_order("TCS", "1", 100, 1, note="a\x00b")

    assert not Order.objects.exists()
