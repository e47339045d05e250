from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderstate.actions import base, broker
from orderstate.brokers.kotak_report import parse_order_report
from orderstate.models import (
    EventKind,
    FailedOrder,
    FailedOrderStatus,
    Order,
    OrderEvent,
    Position,
    Source,
    SyncOutcome,
    SyncRun,
    Trade,
    TradeStatus,
    Variety,
)
from orderstate.states import Status
from orderstate.sync import run as sync
from tests.kotak_book import book, load, placed_in, row, rows

pytestmark = pytest.mark.django_db


def register_like(manager, raw, *, price=None):
    """Register a bot order matching a book row (as the bot placed it)."""
    symbol = raw["trdSym"]
    qty = int(raw["qty"])
    book_price = raw["prc"] if raw["prc"] != "0.00" else None
    price = price or book_price
    if raw["trnsTp"] == "S":
        return manager.register_sell_order(symbol, raw["nOrdNo"], price, qty)
    return manager.register_buy_order(symbol, raw["nOrdNo"], price, qty)


def position(manager, symbol, qty, price="100.00", order_id=None):
    """An open trade for `symbol`, bought by an executed bot order."""
    order_id = order_id or f"BUY-{symbol}"
    manager.register_buy_order(symbol, order_id, price, qty)
    manager.mark_order_executed(symbol, order_id, price)
    return Trade.objects.get(symbol=symbol, status=TradeStatus.OPEN)


def order(order_id):
    return Order.objects.get(broker_order_id=str(order_id))


def snapshot():
    """Every order's state and the count of events about orders, to prove nothing changed
    (a failed run adds a `sync_failed` event about no order)."""
    orders = Order.objects.order_by("pk").values_list(
        "broker_order_id", "status", "filled_quantity", "price", "version", "missing_count"
    )
    order_events = OrderEvent.objects.filter(order__isnull=False).count()
    return list(orders), order_events, Trade.objects.count()


def test_recorded_book_moves_every_order_to_its_broker_status(manager):
    for raw in rows("order_report_mixed"):
        price = "1700.00" if raw["nOrdNo"] == "220621000000105" else None
        register_like(manager, raw, price=price)
    position(manager, "RELIANCE", 10, "2450.00")

    stats = manager.sync_with_broker(broker_orders=rows("order_report_mixed"))

    assert order(220621000000101).status == Status.EXECUTED
    assert order(220621000000101).average_price == Decimal("2575.4000")
    assert order(220621000000102).status == Status.EXECUTED
    assert order(220621000000103).status == Status.REJECTED
    assert order(220621000000103).status_reason.startswith("RMS:Margin Exceeds")
    assert order(220621000000104).status == Status.CANCELLED
    assert order(220621000000105).price == Decimal("1710.50")
    assert order(220621000000105).status == Status.OPEN
    assert order(220621000000107).status == Status.PARTIALLY_FILLED
    assert order(220621000000107).filled_quantity == 15
    assert order(220621000000108).status == Status.OPEN
    assert order(220621000000113).status == Status.CANCELLED
    assert order(220621000000113).filled_quantity == 10
    assert order(220621000000101).broker_status == "complete"
    trade = Trade.objects.get(symbol="RELIANCE")
    assert trade.status == TradeStatus.CLOSED
    assert trade.exit_price == Decimal("2575.4000")
    assert stats["outcome"] == SyncOutcome.OK
    assert stats["executed"] == 2
    assert stats["rejected"] == 1
    assert stats["cancelled"] == 2
    assert stats["partially_filled"] == 1
    assert stats["price_updated"] == 1
    assert stats["opened"] == 7
    assert stats["checked"] == 13
    assert stats["errors"] == 0
    assert stats["external"] == 0


def test_second_sync_of_the_same_book_changes_nothing(manager):
    for raw in rows("order_report_mixed"):
        register_like(manager, raw)
    manager.sync_with_broker(broker_orders=rows("order_report_mixed"))
    before = snapshot()

    stats = manager.sync_with_broker(broker_orders=rows("order_report_mixed"))

    assert snapshot() == before
    changes = ("executed", "partially_filled", "rejected", "cancelled", "price_updated", "opened")
    assert all(stats[key] == 0 for key in changes)
    assert stats["checked"] == 8


def test_sync_events_come_from_the_sync(manager):
    raw = row("5001", "TCS", "B", "complete", 5, 5, "3890.00", "3890.00")
    register_like(manager, raw)
    manager.sync_with_broker(broker_orders=[raw])
    event = OrderEvent.objects.filter(order__broker_order_id="5001", kind=EventKind.EXECUTED).get()
    assert event.source == "sync"


def test_late_fill_of_an_order_we_cancelled_is_applied(manager):
    position(manager, "INFY", 12, "1500.00")
    manager.register_sell_order("INFY-EQ", "5002", "1585.00", 12)
    manager.remove_from_tracking("INFY", reason="bot gave up")

    stats = manager.sync_with_broker(
        broker_orders=[row("5002", "INFY", "S", "complete", 12, 12, "1585.00", "1585.00")]
    )

    late = order(5002)
    assert late.status == Status.EXECUTED
    assert late.filled_quantity == 12
    assert late.events.filter(kind=EventKind.LATE_FILL).count() == 1
    assert Trade.objects.get(symbol="INFY").status == TradeStatus.CLOSED
    assert stats["late_fills"] == 1
    assert stats["external"] == 0


def test_late_partial_fill_keeps_a_cancelled_order_cancelled(manager):
    manager.register_sell_order("INFY-EQ", "5003", "1585.00", 12)
    manager.cancel_order("5003", reason="replaced")

    manager.sync_with_broker(
        broker_orders=[row("5003", "INFY", "S", "cancelled", 12, 4, "1585.00", "1585.00")]
    )

    assert order(5003).status == Status.CANCELLED
    assert order(5003).filled_quantity == 4


def test_cancelled_order_without_more_fills_is_left_alone(manager):
    manager.register_sell_order("INFY-EQ", "5004", "1585.00", 12)
    manager.cancel_order("5004", reason="replaced")
    before = snapshot()

    stats = manager.sync_with_broker(
        broker_orders=[row("5004", "INFY", "S", "cancelled", 12, 0, "1585.00")]
    )

    assert snapshot() == before
    assert stats["late_fills"] == 0
    assert stats["external"] == 0


def test_filled_quantity_never_decreases(manager):
    manager.register_sell_order("ITC-EQ", "5005", "445.00", 40)
    manager.record_fill("5005", 20, "445.00", fill_id="F1")
    version = order(5005).version

    manager.sync_with_broker(broker_orders=[row("5005", "ITC", "S", "open", 40, 15, "445.00")])

    assert order(5005).filled_quantity == 20
    assert order(5005).status == Status.PARTIALLY_FILLED
    assert order(5005).version == version


def test_missing_order_is_counted_then_flagged_never_dropped(manager, settings):
    settings.ORDERSTATE_MISSING_THRESHOLD = 3
    manager.register_sell_order("LT-EQ", "5006", "3500.00", 3)
    other = [row("5099", "TCS", "B", "rejected", 1, 0, "3890.00")]

    results = [manager.sync_with_broker(broker_orders=other) for _ in range(4)]

    missing = order(5006)
    assert missing.status == Status.PENDING
    assert missing.missing_count == 4
    assert [result["missing"] for result in results] == [1, 1, 1, 1]
    assert [result["flagged"] for result in results] == [0, 0, 1, 1]
    assert missing.events.filter(kind=EventKind.FLAGGED).count() == 1
    assert missing.events.filter(kind=EventKind.MISSING).count() == 3


def test_order_seen_again_resets_its_missing_count(manager):
    raw = row("5007", "LT", "S", "open", 3, 0, "3500.00")
    register_like(manager, raw)
    manager.sync_with_broker(broker_orders=[])
    assert order(5007).missing_count == 1

    manager.sync_with_broker(broker_orders=[raw])

    assert order(5007).missing_count == 0
    assert order(5007).last_synced_at is not None


def test_manual_sell_closes_the_trade_and_stops_tracking_the_bot_sell(manager):
    position(manager, "RELIANCE", 10, "2450.00")
    manager.register_sell_order("RELIANCE-EQ", "5008", "2600.00", 10)
    manual = row(
        "9001", "RELIANCE", "S", "complete", 10, 10, "0.00", "2520.00",
        prcTp="MKT", ordDtTm=placed_in(60),
    )  # fmt: skip

    stats = manager.sync_with_broker(
        broker_orders=[manual, row("5008", "RELIANCE", "S", "open", 10)]
    )

    trade = Trade.objects.get(symbol="RELIANCE")
    assert trade.status == TradeStatus.CLOSED
    assert trade.exit_price == Decimal("2520.0000")
    assert trade.realised_pnl == Decimal("700.00")
    assert order(5008).status == Status.CANCELLED
    assert "manually" in order(5008).status_reason
    recorded = order(9001)
    assert recorded.source == Source.BROKER
    assert recorded.status == Status.EXECUTED
    assert stats["manual_sells"] == 1
    assert stats["external"] == 1
    assert manager.get_active_sell_orders() == {}


def test_manual_sell_is_not_counted_twice(manager):
    position(manager, "RELIANCE", 10, "2450.00")
    manager.register_sell_order("RELIANCE-EQ", "5009", "2600.00", 10)
    manual = row(
        "9002", "RELIANCE", "S", "complete", 10, 10, "2520.00", "2520.00", ordDtTm=placed_in(60)
    )
    manager.sync_with_broker(broker_orders=[manual])

    stats = manager.sync_with_broker(broker_orders=[manual])

    assert stats["manual_sells"] == 0
    assert stats["external"] == 0
    assert Order.objects.filter(broker_order_id="9002").count() == 1


def test_manual_buy_of_a_failed_order_opens_a_trade(manager):
    manager.add_failed_order(
        "ITC-EQ", "ITC.NS", qty=40, close="438.15", reason="insufficient funds"
    )

    stats = manager.sync_with_broker(
        broker_orders=[row("9003", "ITC", "B", "traded", 40, 40, "0.00", "439.00", prcTp="MKT")]
    )

    entry = FailedOrder.objects.get(symbol="ITC")
    assert entry.status == FailedOrderStatus.BOUGHT_MANUALLY
    assert entry.retry_order_id == "9003"
    trade = Trade.objects.get(symbol="ITC", status=TradeStatus.OPEN)
    assert trade.quantity == 40
    assert trade.entry_price == Decimal("439.0000")
    assert stats["manual_buys"] == 1
    assert manager.get_failed_orders() == []


def test_external_orders_are_recorded_with_their_state(manager):
    stats = manager.sync_with_broker(broker_orders=rows("order_report_mixed"))

    assert stats["external"] == 13
    assert stats["errors"] == 0
    assert Order.objects.filter(source=Source.BROKER).count() == 13
    assert order(220621000000103).status == Status.REJECTED
    assert order(220621000000103).status_reason.startswith("RMS:")
    assert order(220621000000108).variety == Variety.AMO
    assert order(220621000000107).status == Status.PARTIALLY_FILLED
    assert order(220621000000112).price is None
    stop_loss = order(220621000000106)
    assert (stop_loss.order_type, stop_loss.trigger_price) == ("SL", Decimal("541.00"))


def test_unknown_status_leaves_the_order_and_keeps_the_text(manager):
    raw = rows("order_report_unknown_status")[0]
    register_like(manager, raw)

    stats = manager.sync_with_broker(broker_orders=[raw])

    assert order(raw["nOrdNo"]).status == Status.PENDING
    assert order(raw["nOrdNo"]).broker_status == "frozen by exchange"
    assert stats["unknown_status"] == 1
    assert stats["errors"] == 0


def test_fills_under_an_unknown_status_are_applied_and_the_order_stays_active(manager):
    manager.register_buy_order("TCS-EQ", "U-1", "100.00", 10)
    frozen = row("U-1", "TCS", "B", "frozen by exchange", 10, 4, "100.00", "99.50")

    stats = manager.sync_with_broker(broker_orders=[frozen])

    assert order("U-1").status == Status.PARTIALLY_FILLED
    assert order("U-1").filled_quantity == 4
    assert order("U-1").broker_status == "frozen by exchange"
    assert Position.objects.get(symbol="TCS").net_quantity == 4
    assert (stats["unknown_status"], stats["partially_filled"]) == (1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cancelled after market order", Status.CANCELLED),
        ("modify after market order req received", Status.OPEN),
        ("cancel pending", Status.OPEN),
        ("not cancelled", Status.OPEN),
    ],
)
def test_nest_statuses_close_or_keep_the_order_as_they_mean(manager, text, expected):
    manager.register_buy_order("ITBEES-EQ", "A-1", "35.50", 50)
    manager.sync_with_broker(broker_orders=[row("A-1", "ITBEES", "B", "open", 50, 0, "35.50")])

    stats = manager.sync_with_broker(
        broker_orders=[row("A-1", "ITBEES", "B", text, 50, 0, "35.50")]
    )

    assert order("A-1").status == expected
    assert stats["unknown_status"] == 0


def test_garbage_rows_are_counted_and_the_good_ones_applied(manager):
    for order_id, symbol, qty, price in [
        ("220621000000301", "RELIANCE-EQ", 10, "2575.00"),
        ("220621000000303", "INFY-EQ", 12, "1585.00"),
        ("220621000000310", "LT-EQ", 3, "3500.00"),
    ]:
        manager.register_sell_order(symbol, order_id, price, qty)

    stats = manager.sync_with_broker(broker_orders=load("order_report_garbage"))

    assert order(220621000000301).status == Status.EXECUTED
    assert order(220621000000310).status == Status.OPEN
    unreadable = order(220621000000303)
    assert (unreadable.status, unreadable.missing_count) == (Status.PENDING, 0)
    assert stats["errors"] == 8
    assert stats["missing"] == 0
    assert len(stats["notes"]) == 8


def test_broker_error_fails_the_run_and_changes_nothing(manager):
    for raw in rows("order_report_mixed"):
        register_like(manager, raw)
    before = snapshot()

    stats = manager.sync_with_broker(broker_orders=load("session_expired"))

    assert snapshot() == before
    assert stats["outcome"] == SyncOutcome.FAILED
    assert "invalid session token" in stats["error"]
    run = SyncRun.objects.get(pk=stats["sync_run_id"])
    assert run.outcome == SyncOutcome.FAILED
    assert run.finished_at is not None


class NoneApi:
    def order_report(self):
        return None


class RaisingApi:
    def get_orders(self):
        raise TimeoutError("read timed out")


class BookApi:
    def __init__(self, body):
        self.body = body

    def get_orders(self):
        return self.body


@pytest.mark.parametrize("api", [NoneApi(), RaisingApi()])
def test_orders_api_failure_changes_nothing(manager, api):
    register_like(manager, row("5010", "TCS", "B", "complete", 5, 5, "3890.00"))
    before = snapshot()

    stats = manager.sync_with_broker(orders_api=api)

    assert snapshot() == before
    assert stats["outcome"] == SyncOutcome.FAILED


def test_orders_api_body_is_synced(manager):
    raw = row("5011", "TCS", "B", "complete", 5, 5, "3890.00", "3890.00")
    register_like(manager, raw)

    stats = manager.sync_with_broker(orders_api=BookApi(book(raw)))

    assert stats["executed"] == 1
    assert order(5011).status == Status.EXECUTED


def test_dry_run_reports_changes_and_writes_nothing(manager):
    for raw in rows("order_report_mixed")[:6]:
        register_like(manager, raw, price="1.00" if raw["nOrdNo"].endswith("105") else None)
    position(manager, "RELIANCE", 10, "2450.00")
    manager.register_sell_order("LT-EQ", "5012", "3500.00", 3)
    before = snapshot()

    run = sync.run_sync(broker=sync.GivenBook(rows("order_report_mixed")), dry_run=True)

    assert snapshot() == before
    assert run.dry_run is True
    assert run.outcome == SyncOutcome.OK
    assert run.stats["executed"] == 2
    assert run.stats["rejected"] == 1
    assert run.stats["cancelled"] == 1
    assert run.stats["price_updated"] == 1
    assert run.stats["missing"] == 1
    assert run.stats["external"] == 7
    assert {"order_id": "220621000000101", "changes": ["executed"]} in run.stats["plan"]


def test_one_failing_order_is_counted_and_leaves_the_others_applied(manager, monkeypatch):
    raws = [
        row("5013", "TCS", "B", "complete", 5, 5, "3890.00", "3890.00"),
        row("5014", "INFY", "B", "complete", 4, 4, "1500.00", "1500.00"),
        row("5015", "ITC", "B", "complete", 40, 40, "440.00", "440.00"),
    ]
    for raw in raws:
        register_like(manager, raw)
    write_events = base.write_events

    def failing_write_events(ctx, order, events):
        # Fails after the order row was saved: the whole change must roll back.
        if order is not None and order.broker_order_id == "5014":
            raise RuntimeError("disk full")
        return write_events(ctx, order, events)

    monkeypatch.setattr(base, "write_events", failing_write_events)

    stats = manager.sync_with_broker(broker_orders=raws)

    assert order(5013).status == Status.EXECUTED
    assert order(5015).status == Status.EXECUTED
    untouched = order(5014)
    assert (untouched.status, untouched.filled_quantity, untouched.version) == (
        Status.PENDING,
        0,
        1,
    )
    assert not Trade.objects.filter(symbol="INFY").exists()
    assert stats["errors"] == 1
    assert stats["executed"] == 2
    assert "5014" in stats["notes"][0]


def crash_on_second_order(monkeypatch):
    """Make the manager die (as on Ctrl-C) while applying the second order; return the ids."""
    follow = broker.follow_broker
    calls = []

    def crash_on_second(ctx, order, report, **options):
        calls.append(order.broker_order_id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return follow(ctx, order, report, **options)

    monkeypatch.setattr(broker, "follow_broker", crash_on_second)
    return calls


TWO_EXECUTED = [
    row("5016", "TCS", "B", "complete", 5, 5, "3890.00", "3890.00"),
    row("5017", "INFY", "B", "complete", 4, 4, "1500.00", "1500.00"),
]


def assert_untouched(crashed):
    assert (crashed.status, crashed.version, crashed.events.count()) == (Status.PENDING, 1, 1)
    assert not Trade.objects.filter(symbol=crashed.base_symbol).exists()


def test_crash_between_batches_keeps_the_committed_one_and_records_the_run(
    manager, monkeypatch, settings
):
    settings.ORDERSTATE_SYNC_BATCH_SIZE = 1
    for raw in TWO_EXECUTED:
        register_like(manager, raw)
    calls = crash_on_second_order(monkeypatch)

    with pytest.raises(KeyboardInterrupt):
        manager.sync_with_broker(broker_orders=TWO_EXECUTED)

    applied, crashed = order(calls[0]), order(calls[1])
    assert applied.status == Status.EXECUTED
    assert Trade.objects.filter(symbol=applied.base_symbol, status=TradeStatus.OPEN).exists()
    assert_untouched(crashed)
    run = SyncRun.objects.latest("started_at")
    assert run.outcome == SyncOutcome.FAILED
    assert "interrupted" in run.error
    assert run.stats["executed"] == 1


def test_crash_inside_a_batch_leaves_every_order_of_the_batch_untouched(manager, monkeypatch):
    for raw in TWO_EXECUTED:
        register_like(manager, raw)
    calls = crash_on_second_order(monkeypatch)

    with pytest.raises(KeyboardInterrupt):
        manager.sync_with_broker(broker_orders=TWO_EXECUTED)

    for order_id in calls:
        assert_untouched(order(order_id))
    run = SyncRun.objects.latest("started_at")
    assert run.outcome == SyncOutcome.FAILED
    assert run.stats["executed"] == 0


@pytest.mark.django_db(transaction=True)
def test_twenty_changed_orders_commit_as_one_batch(manager, monkeypatch):
    raws = [
        row(f"60{n:02d}", f"SYM{n}", "B", "complete", 5, 5, "10.00", "10.00") for n in range(20)
    ]
    for raw in raws:
        register_like(manager, raw)
    commits = []
    commit = connection.commit
    monkeypatch.setattr(connection, "commit", lambda: commits.append(1) or commit())

    stats = manager.sync_with_broker(broker_orders=raws)

    assert stats["executed"] == 20
    assert Order.objects.filter(status=Status.EXECUTED).count() == 20
    # The batch writes its events in one INSERT at the end: none may be lost.
    for executed in Order.objects.all():
        assert sorted(executed.events.values_list("kind", flat=True)) == sorted(
            [EventKind.REGISTERED, EventKind.EXECUTED, EventKind.TRADE_OPENED]
        )
    # One for the batch; the rest are the run's own bookkeeping (its row, lock, stamps).
    assert len(commits) < 10, len(commits)


def test_buy_and_its_sell_both_filled_since_the_last_sync_open_then_close_the_position(manager):
    raws = [
        row("7001", "HDFC", "B", "complete", 10, 10, "1600.00", "1600.00"),
        row("7002", "HDFC", "S", "complete", 10, 10, "1650.00", "1650.00"),
    ]
    for raw in raws:
        register_like(manager, raw)

    stats = manager.sync_with_broker(broker_orders=raws)

    assert stats["executed"] == 2 and stats["errors"] == 0
    trade = Trade.objects.get(symbol="HDFC")
    assert (trade.status, trade.closed_quantity, trade.realised_pnl) == (
        TradeStatus.CLOSED,
        10,
        Decimal("500.00"),
    )
    assert trade.entry_order == order("7001") and trade.exit_order == order("7002")


def test_run_cut_off_by_a_killed_process_is_closed_by_the_next(manager):
    killed = SyncRun.objects.create(broker="kotak")

    manager.sync_with_broker(broker_orders=[])

    killed.refresh_from_db()
    assert killed.outcome == SyncOutcome.FAILED
    assert "abandoned" in killed.error


def test_order_registered_after_the_fetch_is_not_missing(manager):
    class LateRegistration:
        name = "test"

        def fetch_order_book(self):
            manager.register_sell_order("LT-EQ", "5018", "3500.00", 3)
            return parse_order_report(book())

    run = sync.run_sync(broker=LateRegistration())

    assert run.stats["missing"] == 0
    assert order(5018).missing_count == 0


def test_sync_run_is_stored_with_every_stats_key(manager):
    manager.sync_with_broker(broker_orders=[])
    run = SyncRun.objects.get()
    assert set(sync.STAT_KEYS) <= set(run.stats)
    assert run.outcome == SyncOutcome.OK
    assert run.broker == "given"


def _unchanged_book(manager, count):
    raws = []
    for index in range(count):
        raw = row(f"Q{index}", f"SYM{index}", "S", "open", 10, 0, "100.00")
        register_like(manager, raw)
        raws.append(raw)
    manager.sync_with_broker(broker_orders=raws)  # first sight stores the broker text
    return raws


def test_queries_do_not_grow_with_unchanged_orders(manager, django_assert_max_num_queries):
    few = _unchanged_book(manager, 3)
    with CaptureQueriesContext(connection) as small:
        manager.sync_with_broker(broker_orders=few)
    Order.objects.all().delete()
    many = _unchanged_book(manager, 120)

    with django_assert_max_num_queries(len(small.captured_queries)):
        stats = manager.sync_with_broker(broker_orders=many)

    assert stats["checked"] == 120
    assert Order.objects.filter(last_synced_at__isnull=True).count() == 0


def test_run_stores_the_state_problems_found_after_it(manager):
    manager.register_buy_order("TCS-EQ", "7001", "3890.00", 5)
    position(manager, "INFY", 10)
    manager.register_sell_order("INFY-EQ", "S-INFY", "1600.00", 10)

    manager.sync_with_broker(broker_orders=[row("7001", "TCS", "B", "complete", 5, 5, "3890.00")])

    run = SyncRun.objects.get()
    # The executed buy left a position with no sell order; INFY's is protected.
    assert run.stats["state_problems"] == 1
    assert run.stats["state_problem_codes"] == {"unprotected_position": 1}
    assert "state_problems=1 (unprotected_position:1)" in sync.summary(run)


def test_clean_state_is_stored_as_zero_problems(manager):
    manager.sync_with_broker(broker_orders=[])

    run = SyncRun.objects.get()
    assert (run.stats["state_problems"], run.stats["state_problem_codes"]) == (0, {})
    assert "state_problems=0" in sync.summary(run)


def test_dry_run_and_failed_run_do_not_check_the_state(manager):
    sync.run_sync(broker=sync.GivenBook([]), dry_run=True)
    sync.run_sync(
        broker=sync.GivenBook(
            {"stat": "Not_Ok", "errMsg": "invalid session token", "stCode": 100022}
        )
    )

    for run in SyncRun.objects.all():
        assert "state_problems" not in run.stats
        assert "state_problems" not in sync.summary(run)


def test_failing_state_check_leaves_the_run_ok_and_its_changes_applied(manager, monkeypatch):
    manager.register_buy_order("TCS-EQ", "7001", "3890.00", 5)

    def broken():
        raise RuntimeError("check crashed")

    monkeypatch.setattr(sync, "find_problems", broken)
    manager.sync_with_broker(broker_orders=[row("7001", "TCS", "B", "complete", 5, 5, "3890.00")])

    run = SyncRun.objects.get()
    assert run.outcome == SyncOutcome.OK
    assert "state_problems" not in run.stats
    assert order(7001).status == Status.EXECUTED


def test_rows_of_other_segments_are_skipped_and_counted_never_recorded(manager):
    stats = manager.sync_with_broker(broker_orders=load("order_report_ok"))

    assert stats["skipped_segments"] == 1
    assert not Order.objects.filter(broker_order_id="260724000101007").exists()  # nse_fo
    assert not Order.objects.filter(base_symbol="TCS26JULFUT").exists()
    assert Order.objects.filter(broker_order_id="260724000101001").exists()  # nse_cm TCS
