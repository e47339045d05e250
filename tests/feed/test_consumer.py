"""Frames applied one at a time with the sync's rules: duplicates, reordering, a fill whose
price comes in a later frame, orders placed outside the bot, and frames that cannot be used."""

import json
from decimal import Decimal

import pytest

from orderstate.actions.base import Context
from orderstate.feed.consumer import FrameConsumer
from orderstate.models import EventKind, EventSource, Lot, Order, OrderEvent, Source, Trade
from orderstate.states import Status
from tests.feed.frames import T0, order_data, order_frame

pytestmark = pytest.mark.django_db

SECOND = 10**9


@pytest.fixture
def consumer():
    return FrameConsumer(Context.of(EventSource.SYNC))


@pytest.fixture
def tcs_buy(manager):
    """The bot's buy of 5 TCS at 3450.00, as registered before the broker reports on it."""
    return manager.register_buy_order("TCS-EQ", "T-1", "3450.00", 5, "TCS.NS")


def feed(consumer, *frames):
    return [consumer.handle(frame)[1] for frame in frames]


def tcs(status, filled, average, at, qty=5):
    return order_frame("T-1", status, qty, filled, average, at=at)


def test_each_frame_moves_the_order_as_the_broker_reports_it(consumer, tcs_buy):
    outcomes = feed(
        consumer,
        tcs("open", 0, "0.00", T0),
        tcs("open", 2, "3449.00", T0 + SECOND),
        tcs("complete", 5, "3449.20", T0 + 2 * SECOND),
    )

    order = Order.objects.get(broker_order_id="T-1")
    assert outcomes == ["applied", "applied", "applied"]
    assert (order.status, order.filled_quantity, order.average_price) == (
        Status.EXECUTED,
        5,
        Decimal("3449.2000"),
    )
    assert [(lot.quantity, lot.price) for lot in Lot.objects.order_by("id")] == [
        (2, Decimal("3449.0000")),
        (2, Decimal("3449.3333")),  # the 3 more cost 10348.00 (see ledger.parts_worth)
        (1, Decimal("3449.3334")),
    ]


def test_a_duplicate_frame_writes_nothing(consumer, tcs_buy):
    frame = tcs("open", 2, "3449.00", T0)
    feed(consumer, frame)
    version = Order.objects.get(broker_order_id="T-1").version
    events = OrderEvent.objects.count()

    assert feed(consumer, frame) == ["unchanged"]
    assert Order.objects.get(broker_order_id="T-1").version == version
    assert OrderEvent.objects.count() == events
    assert Lot.objects.count() == 1


def test_an_older_frame_after_a_newer_one_is_stale_and_changes_nothing(consumer, tcs_buy):
    outcomes = feed(
        consumer,
        tcs("complete", 5, "3449.20", T0 + 2 * SECOND),
        tcs("open", 2, "3449.00", T0 + SECOND),
    )

    order = Order.objects.get(broker_order_id="T-1")
    assert outcomes == ["applied", "stale"]
    assert (order.status, order.broker_status) == (Status.EXECUTED, "complete")
    assert [(lot.quantity, lot.price) for lot in Lot.objects.all()] == [(5, Decimal("3449.2000"))]


def test_an_older_frame_cannot_undo_a_quantity_the_trader_changed(consumer, tcs_buy):
    feed(consumer, tcs("open", 0, "0.00", T0 + 2 * SECOND, qty=3))  # cut from 5 to 3 in the app

    assert feed(consumer, tcs("open", 0, "0.00", T0 + SECOND, qty=5)) == ["stale"]
    assert Order.objects.get(broker_order_id="T-1").quantity == 3


def test_frames_without_times_out_of_order_never_lower_the_filled_quantity(consumer, tcs_buy):
    later = order_data("T-1", "open", 5, 4, "3449.25")
    earlier = order_data("T-1", "open", 5, 2, "3449.00")
    del later["updRecvTm"], earlier["updRecvTm"]

    outcomes = feed(consumer, *(json.dumps({"type": "order", "data": d}) for d in (later, earlier)))

    order = Order.objects.get(broker_order_id="T-1")
    assert outcomes == ["applied", "unchanged"]
    assert (order.filled_quantity, order.average_price) == (4, Decimal("3449.2500"))


# A fill reported before its price -----------------------------------------------------


def test_a_fill_without_a_price_is_held_until_the_frame_with_the_price(consumer, tcs_buy):
    feed(consumer, tcs("open", 2, "3449.00", T0), tcs("open", 4, "3449.25", T0 + SECOND))
    version = Order.objects.get(broker_order_id="T-1").version
    unpriced = tcs("complete", 5, "0.00", T0 + 2 * SECOND)

    assert feed(consumer, unpriced, unpriced) == ["awaiting_price", "awaiting_price"]
    held = Order.objects.get(broker_order_id="T-1")
    assert (held.status, held.filled_quantity, held.version) == (
        Status.PARTIALLY_FILLED,
        4,
        version,
    )
    assert consumer.awaiting_since() is not None

    assert feed(consumer, tcs("complete", 5, "3449.20", T0 + 3 * SECOND)) == ["applied"]
    order = Order.objects.get(broker_order_id="T-1")
    assert (order.status, order.average_price) == (Status.EXECUTED, Decimal("3449.2000"))
    # The last share at the price that makes the broker's average exact: 17246.00 in all.
    assert [(lot.quantity, lot.price) for lot in Lot.objects.order_by("id")] == [
        (2, Decimal("3449.0000")),
        (2, Decimal("3449.5000")),
        (1, Decimal("3449.0000")),
    ]
    assert Trade.objects.get().cost == Decimal("17246.0000")
    assert consumer.awaiting_since() is None


def test_a_sell_reported_before_its_price_closes_the_trade_at_the_exact_pnl(consumer, manager):
    manager.register_buy_order("INFY-EQ", "B-9", "100.00", 5, "INFY.NS")
    manager.mark_order_executed("INFY", "B-9", "100.00")
    manager.register_sell_order("INFY-EQ", "S-9", "110.00", 5, ticker="INFY.NS")
    sell = order_data("S-9", "complete", 5, 5, "0.00", at=T0, symbol="INFY", side="S")

    unpriced = json.dumps({"type": "order", "data": sell})
    priced = json.dumps(
        {"type": "order", "data": {**sell, "avgPrc": "110.40", "updRecvTm": T0 + 1}}
    )
    outcomes = feed(consumer, unpriced, unpriced, priced)

    trade = Trade.objects.get()
    assert outcomes == ["awaiting_price", "awaiting_price", "applied"]
    assert (trade.status, trade.exit_price, trade.realised_pnl) == (
        "CLOSED",
        Decimal("110.4000"),
        Decimal("52.00"),
    )


def test_an_outside_order_filled_without_a_price_is_recorded_once_the_price_comes(consumer):
    unpriced = order_frame("X-1", "complete", 10, 10, "0.00", at=T0, symbol="ITC")
    priced = order_frame("X-1", "complete", 10, 10, "410.15", at=T0 + 1, symbol="ITC")

    assert feed(consumer, unpriced) == ["awaiting_price"]
    assert not Order.objects.filter(broker_order_id="X-1").exists()
    assert feed(consumer, priced) == ["external"]
    order = Order.objects.get(broker_order_id="X-1")
    assert (order.source, order.status, order.average_price) == (
        Source.BROKER,
        Status.EXECUTED,
        Decimal("410.1500"),
    )
    assert Lot.objects.get().price == Decimal("410.1500")


# The sync's rules ------------------------------------------------------------------


def test_an_order_we_never_registered_is_recorded_as_the_sync_records_it(consumer):
    assert feed(consumer, order_frame("X-2", "open", 10, 0, "0.00", symbol="ITC")) == ["external"]

    order = Order.objects.get(broker_order_id="X-2")
    assert (order.source, order.status, order.base_symbol) == (Source.BROKER, Status.OPEN, "ITC")


def test_an_unknown_status_keeps_the_order_active_and_notes_the_words(consumer, tcs_buy):
    feed(consumer, tcs("open", 0, "0.00", T0))

    frame = order_frame("T-1", "awaiting exchange nod", 5, 0, "0.00", at=T0 + 1)
    assert feed(consumer, frame) == ["unknown_status"]
    order = Order.objects.get(broker_order_id="T-1")
    assert (order.status, order.broker_status) == (Status.OPEN, "awaiting exchange nod")


def test_fills_reported_under_an_unknown_status_are_applied(consumer, tcs_buy):
    feed(consumer, order_frame("T-1", "awaiting exchange nod", 5, 2, "3449.00", at=T0))

    assert Order.objects.get(broker_order_id="T-1").filled_quantity == 2


def test_orders_of_other_segments_are_skipped(consumer):
    frame = order_frame("F-1", "complete", 225, 225, "2112.00", symbol="TCS26JULFUT")
    frame = frame.replace('"nse_cm"', '"nse_fo"')

    assert feed(consumer, frame) == ["skipped"]
    assert not Order.objects.filter(broker_order_id="F-1").exists()


def test_fills_of_an_order_we_cancelled_are_applied_as_a_late_fill(consumer, manager, tcs_buy):
    manager.cancel_order("T-1", reason="gave up")

    assert feed(consumer, tcs("complete", 5, "3449.20", T0)) == ["applied"]
    order = Order.objects.get(broker_order_id="T-1")
    assert (order.status, order.filled_quantity) == (Status.EXECUTED, 5)
    assert order.events.filter(kind=EventKind.LATE_FILL).exists()


def test_an_update_the_rules_refuse_is_counted_and_writes_nothing(consumer, tcs_buy):
    feed(consumer, tcs("open", 4, "3449.25", T0))
    events = OrderEvent.objects.count()

    # The broker says the order is for 3 shares, 4 of which we already hold filled.
    assert feed(consumer, tcs("open", 2, "3449.00", T0 + 1, qty=3)) == ["failed"]
    order = Order.objects.get(broker_order_id="T-1")
    assert (order.quantity, order.filled_quantity) == (5, 4)
    assert OrderEvent.objects.count() == events


def test_frames_that_are_not_order_updates_are_counted_and_applied_nowhere(consumer):
    frames = [
        '{"ak":"ok","type":"cn","task":"cn","msg":"connected"}',
        '{"type":"position","data":{"sym":"TCS","exSeg":"nse_cm","flBuyQty":"5"}}',
        '{"type":"heartbeat","x":1}',
        "PING",
        b"\xff\xfe",
        "[1, 2]",
        '{"type":"order"}',
        '{"type":"order","data":{"nOrdNo":"1","trdSym":"TCS-EQ","trnsTp":"B","ordSt":"open",'
        '"qty":"ten"}}',
        json.dumps({"type": "order", "data": order_data("X-3", "open", 5, 9, "1.00")}),
        '{"ak":"nok","type":"cn","msg":"invalid session token"}',
    ]

    outcomes = feed(consumer, *frames)

    assert outcomes == [
        "control",
        "position",
        "other",
        "bad",
        "bad",
        "bad",
        "bad",
        "bad",
        "bad",
        "refused",
    ]
    assert not Order.objects.exists()
    assert not OrderEvent.objects.exists()
    assert consumer.total == len(frames)
