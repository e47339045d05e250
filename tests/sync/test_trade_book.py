"""Exact fills from the broker's trade book: each fill recorded once at its own price and
time, lots counted before from the cumulative figure corrected (never counted twice),
the trade book lagging the order book or running ahead of it."""

import json
from datetime import datetime
from decimal import Decimal

import pytest

from orderstate.brokers.replay import ReplayBroker
from orderstate.market import IST
from orderstate.models import (
    EventKind,
    Fill,
    FillSource,
    Lot,
    LotSource,
    Order,
    OrderEvent,
    Position,
    Trade,
)
from orderstate.states import Status
from orderstate.sync import run_sync
from orderstate.sync.reconcile import EXTRA_KEYS, STAT_KEYS
from tests.kotak_book import book, fill, row, trades

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 7, 24, tzinfo=IST)


def at(hour, minute, second=0):
    return DAY.replace(hour=hour, minute=minute, second=second)


def sync(tmp_path, orders, fills=None):
    """One sync reading `orders` and, when given, the trade book `fills` (a replay file)."""
    session = {"orders": book(*orders)}
    if fills is not None:
        session["trades"] = trades(*fills)
    path = tmp_path / f"session-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(session))
    return run_sync(broker=ReplayBroker(path))


BUY = row("B-1", "TCS", "B", "complete", 5, 5, "110.00", "106.00", ordDtTm="24-Jul-2026 09:15:00")
SELL = row("S-1", "TCS", "S", "complete", 2, 2, "120.00", "120.00", ordDtTm="24-Jul-2026 09:25:00")
BUY_FILLS = [fill("B-1", "F1", 2, "100.00", at(9, 20)), fill("B-1", "F2", 3, "110.00", at(9, 21))]
SELL_FILL = fill("S-1", "F3", 2, "120.00", at(9, 30), side="S")


@pytest.fixture
def registered(manager):
    manager.register_buy_order("TCS", "B-1", "110.00", 5)
    manager.register_sell_order("TCS", "S-1", "120.00", 2)
    return manager


def lots(order_id):
    return list(
        Lot.objects.filter(order__broker_order_id=order_id)
        .order_by("at", "id")
        .values_list("quantity", "price", "at", "source")
    )


def test_fills_count_at_their_own_prices_and_times_so_fifo_pnl_is_exact(tmp_path, registered):
    run = sync(tmp_path, [BUY, SELL], [*BUY_FILLS, SELL_FILL])

    assert lots("B-1") == [
        (2, Decimal("100.0000"), at(9, 20), LotSource.TRADE_BOOK),
        (3, Decimal("110.0000"), at(9, 21), LotSource.TRADE_BOOK),
    ]
    trade = Trade.objects.get()
    # The two shares sold are the two bought first, at 100: 2 x 20, not 2 x (120 - 106).
    assert trade.realised_pnl == Decimal("40.00")
    assert trade.entry_time == at(9, 20)
    assert Position.objects.get(symbol="TCS").net_quantity == 3
    assert run.stats["exact_fills"] == 2
    buy = Order.objects.get(broker_order_id="B-1")
    assert (buy.filled_quantity, buy.exact_filled_quantity, buy.status) == (5, 5, Status.EXECUTED)
    assert buy.fills.filter(source=FillSource.BROKER).count() == 2


def test_a_trade_book_after_the_order_book_corrects_prices_without_counting_twice(
    tmp_path, registered
):
    first = sync(tmp_path, [BUY, SELL], [])
    assert Trade.objects.get().realised_pnl == Decimal("28.00")  # from the average, 106
    estimated = lots("B-1")
    assert [(qty, price, source) for qty, price, _, source in estimated] == [
        (5, Decimal("106.0000"), LotSource.FILL)
    ]

    second = sync(tmp_path, [BUY, SELL], [*BUY_FILLS, SELL_FILL])

    assert lots("B-1") == [
        (2, Decimal("100.0000"), at(9, 20), LotSource.TRADE_BOOK),
        (3, Decimal("110.0000"), at(9, 21), LotSource.TRADE_BOOK),
    ]
    assert lots("S-1") == [(2, Decimal("120.0000"), at(9, 30), LotSource.TRADE_BOOK)]
    trade = Trade.objects.get()
    assert (trade.quantity, trade.closed_quantity) == (5, 2)
    assert trade.realised_pnl == Decimal("40.00")
    assert Position.objects.get(symbol="TCS").net_quantity == 3
    buy = Order.objects.get(broker_order_id="B-1")
    assert (buy.filled_quantity, buy.exact_filled_quantity) == (5, 5)
    assert buy.average_price == Decimal("106.0000")
    corrected = OrderEvent.objects.filter(order=buy, kind=EventKind.FILL_CORRECTED)
    assert [event.data["fill_id"] for event in corrected.order_by("id")] == ["F1", "F2"]
    assert corrected.order_by("id")[0].data["replaced"][0]["price"] == "106.0000"
    assert first.stats["exact_fills"] == 0 and second.stats["exact_fills"] == 2


def test_a_quantity_estimated_as_two_lots_is_replaced_whole_by_its_fills(tmp_path, manager):
    """2 @ 3449.00 then 5 @ 3449.20 in all: the 3 more are estimated as 2 @ 3449.3333 and
    1 @ 3449.3334 (ledger.parts_worth); their fills replace both lots, nothing left over."""
    manager.register_buy_order("TCS", "B-1", "3450.00", 5)
    sync(tmp_path, [row("B-1", "TCS", "B", "open", 5, 2, "3450.00", "3449.00")], [])
    sync(tmp_path, [row("B-1", "TCS", "B", "complete", 5, 5, "3450.00", "3449.20")], [])
    assert [(qty, price) for qty, price, _, _ in lots("B-1")] == [
        (2, Decimal("3449.0000")),
        (2, Decimal("3449.3333")),
        (1, Decimal("3449.3334")),
    ]

    fills = [
        fill("B-1", "F1", 2, "3449.00", at(9, 20)),
        fill("B-1", "F2", 2, "3449.50", at(9, 21)),
        fill("B-1", "F3", 1, "3449.00", at(9, 22)),
    ]
    sync(tmp_path, [row("B-1", "TCS", "B", "complete", 5, 5, "3450.00", "3449.20")], fills)

    assert lots("B-1") == [
        (2, Decimal("3449.0000"), at(9, 20), LotSource.TRADE_BOOK),
        (2, Decimal("3449.5000"), at(9, 21), LotSource.TRADE_BOOK),
        (1, Decimal("3449.0000"), at(9, 22), LotSource.TRADE_BOOK),
    ]
    position = Position.objects.get(symbol="TCS")
    assert position.net_quantity == 5
    assert Trade.objects.get().entry_price == Decimal("3449.2000")


def test_a_trade_book_seen_again_changes_nothing(tmp_path, registered):
    sync(tmp_path, [BUY, SELL], [*BUY_FILLS, SELL_FILL])
    versions = list(Order.objects.order_by("pk").values_list("version", flat=True))
    events, fills, lot_rows = OrderEvent.objects.count(), Fill.objects.count(), Lot.objects.count()

    again = sync(tmp_path, [BUY, SELL], [*BUY_FILLS, SELL_FILL])

    assert list(Order.objects.order_by("pk").values_list("version", flat=True)) == versions
    assert (OrderEvent.objects.count(), Fill.objects.count(), Lot.objects.count()) == (
        events,
        fills,
        lot_rows,
    )
    assert again.stats["exact_fills"] == 0


def test_a_lagging_trade_book_leaves_the_rest_estimated_until_its_fill_arrives(
    tmp_path, registered
):
    sync(tmp_path, [BUY], BUY_FILLS[:1])

    first = lots("B-1")
    assert first[0] == (2, Decimal("100.0000"), at(9, 20), LotSource.TRADE_BOOK)
    # The rest at the price that makes the broker's average: (5 x 106 - 2 x 100) / 3.
    assert first[1][0:2] == (3, Decimal("110.0000")) and first[1][3] == LotSource.FILL

    sync(tmp_path, [BUY], BUY_FILLS)

    assert lots("B-1") == [
        (2, Decimal("100.0000"), at(9, 20), LotSource.TRADE_BOOK),
        (3, Decimal("110.0000"), at(9, 21), LotSource.TRADE_BOOK),
    ]
    assert Order.objects.get(broker_order_id="B-1").filled_quantity == 5
    assert Position.objects.get(symbol="TCS").net_quantity == 5


def test_a_trade_book_ahead_of_the_order_book_counts_its_fills(tmp_path, registered):
    still_open = row("B-1", "TCS", "B", "open", 5, 2, "110.00", "100.00")

    run = sync(tmp_path, [still_open], BUY_FILLS)

    buy = Order.objects.get(broker_order_id="B-1")
    assert (buy.filled_quantity, buy.status) == (5, Status.EXECUTED)
    assert run.stats["executed"] == 1
    assert Position.objects.get(symbol="TCS").net_quantity == 5


def test_the_bots_own_fill_is_replaced_by_the_brokers_and_not_counted_twice(tmp_path, registered):
    registered.record_fill("B-1", 2, "100.50", fill_id="bot-1")

    sync(tmp_path, [row("B-1", "TCS", "B", "open", 5, 2, "110.00", "100.00")], BUY_FILLS[:1])

    assert lots("B-1") == [(2, Decimal("100.0000"), at(9, 20), LotSource.TRADE_BOOK)]
    buy = Order.objects.get(broker_order_id="B-1")
    assert (buy.filled_quantity, buy.status) == (2, Status.PARTIALLY_FILLED)
    assert buy.fills.count() == 2  # the bot's report and the broker's fill, both kept
    # The bot reports the same fill again: nothing moves.
    registered.record_fill("B-1", 2, "100.00", fill_id="F1")
    assert Order.objects.get(broker_order_id="B-1").filled_quantity == 2


def test_a_trade_book_showing_more_than_the_order_is_refused_for_that_order(tmp_path, registered):
    too_many = [*BUY_FILLS, fill("B-1", "F9", 1, "111.00", at(9, 22))]

    run = sync(tmp_path, [BUY], too_many)

    assert run.stats["errors"] == 1
    assert "6 filled of 5" in run.stats["notes"][0]
    assert not Lot.objects.filter(order__broker_order_id="B-1").exists()


def test_fills_of_other_segments_and_unknown_orders_are_counted_not_applied(tmp_path, registered):
    future = fill("F-1", "F8", 225, "3450.00", at(9, 40), symbol="TCS26JULFUT")
    future["exSeg"] = "nse_fo"
    stray = fill("X-1", "F7", 1, "100.00", at(9, 41))

    run = sync(tmp_path, [BUY], [*BUY_FILLS, future, stray])

    assert (run.stats["skipped_segments"], run.stats["unmatched_fills"]) == (1, 1)
    assert Position.objects.get(symbol="TCS").net_quantity == 5


def test_an_order_placed_outside_the_bot_takes_its_fills_from_the_trade_book(tmp_path, manager):
    manual = row("M-1", "INFY", "B", "complete", 3, 3, "0.00", "1500.00")
    fills = [
        fill("M-1", "F5", 1, "1490.00", at(10, 0), symbol="INFY"),
        fill("M-1", "F6", 2, "1505.00", at(10, 1), symbol="INFY"),
    ]

    sync(tmp_path, [manual], fills)

    assert [(qty, price) for qty, price, _, _ in lots("M-1")] == [
        (1, Decimal("1490.0000")),
        (2, Decimal("1505.0000")),
    ]


def counts(run):
    return {key: run.stats.get(key, 0) for key in STAT_KEYS + EXTRA_KEYS}


def test_the_dry_run_promises_what_the_sync_then_does_with_a_trade_book(tmp_path, registered):
    sync(tmp_path, [BUY, SELL], [])
    session = tmp_path / "whole.json"
    session.write_text(
        json.dumps({"orders": book(BUY, SELL), "trades": trades(*BUY_FILLS, SELL_FILL)})
    )

    promised = run_sync(broker=ReplayBroker(session), dry_run=True)
    done = run_sync(broker=ReplayBroker(session))

    assert counts(promised) == counts(done)
    assert done.stats["exact_fills"] == 2
