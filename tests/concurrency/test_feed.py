"""The order feed racing the sync and the bot on PostgreSQL: each fill is counted once.

The stream applies a frame in its own transaction while the polling sync (or
the bot, recording the fill it saw) applies the same execution from another
process. The order's row lock decides who goes first; the second finds the
work done. Forked processes with their own connections, started by a barrier.
"""

import signal

import pytest
from django.db import connection
from django.db.models import Sum

from orderstate.actions.base import Context
from orderstate.feed.consumer import FrameConsumer
from orderstate.feed.stream import lock_name
from orderstate.locks import advisory_key
from orderstate.manager import OrderStateManager
from orderstate.models import EventSource, Lot, Order, OrderEvent, SyncRun, Trade
from orderstate.states import Status
from orderstate.sync import run_sync
from orderstate.sync.sources import GivenBook
from tests import kotak_book
from tests.concurrency.test_manager import in_processes
from tests.feed.frames import T0, order_frame
from tests.feed.test_stream_process import WAIT, held_by, start_stream, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 20


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("multi-process races need PostgreSQL")


@pytest.fixture
def open_buys(postgres):
    manager = OrderStateManager(source="bot")
    for number in range(ORDERS):
        manager.register_buy_order(f"FEED{number}-EQ", f"F-{number}", "100.00", 10)


def frames():
    return [
        order_frame(f"F-{n}", "complete", 10, 10, "99.95", at=T0 + n, symbol=f"FEED{n}")
        for n in range(ORDERS)
    ]


def feed_all(index):
    consumer = FrameConsumer(Context.of(EventSource.SYNC))
    return sorted({consumer.handle(frame)[1] for frame in frames()})


def sync_all(index):
    rows = [
        kotak_book.row(f"F-{n}", f"FEED{n}", "B", "complete", 10, 10, "100.00", "99.95")
        for n in range(ORDERS)
    ]
    return run_sync(broker=GivenBook(rows)).outcome


def bot_records_fills(index):
    manager = OrderStateManager(source="bot")
    for n in range(ORDERS):
        manager.record_fill(f"F-{n}", 10, "99.95", fill_id=f"X-{n}")
    return "recorded"


def assert_each_fill_counted_once():
    for order in Order.objects.filter(broker_order_id__startswith="F-"):
        assert (order.status, order.filled_quantity) == (Status.EXECUTED, 10)
        lots = Lot.objects.filter(order=order).aggregate(shares=Sum("quantity"))
        assert lots["shares"] == 10, order.broker_order_id
    assert Trade.objects.aggregate(shares=Sum("quantity"))["shares"] == 10 * ORDERS
    # One move to EXECUTED per order, by whichever process got there first.
    executions = OrderEvent.objects.filter(to_status=Status.EXECUTED).exclude(
        from_status=Status.EXECUTED
    )
    assert executions.count() == ORDERS


def test_the_feed_and_the_sync_applying_the_same_executions_count_each_once(open_buys):
    outcomes = in_processes(lambda index: (feed_all, sync_all)[index](index), 2)

    assert outcomes[1] == ("ok", "ok")
    assert set(outcomes[0][1]) <= {"applied", "unchanged"}
    assert_each_fill_counted_once()


def test_the_feed_and_the_bot_recording_the_same_fills_count_each_once(open_buys):
    outcomes = in_processes(lambda index: (feed_all, bot_records_fills)[index](index), 2)

    assert outcomes[1] == ("ok", "recorded")
    assert_each_fill_counted_once()


def test_a_stream_whose_database_session_is_cut_takes_the_feed_again_and_syncs(postgres):
    """The server ends the stream's session (a failover, an admin's pg_terminate_backend): the
    advisory lock goes with it. The stream notices, takes the lock again on a new session,
    runs a full sync, and goes on applying frames."""
    process = start_stream()
    try:
        synced = SyncRun.objects.filter(outcome="ok")
        wait_for(lambda: held_by(process) and synced.exists(), [process], "the stream's first sync")
        syncs = synced.count()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND objid::bigint = %s",
                [advisory_key(lock_name("default")) & 0xFFFFFFFF],
            )
            assert cursor.fetchall() == [(True,)]
        wait_for(
            lambda: synced.count() > syncs and held_by(process),
            [process],
            "the stream back on the feed after a full sync",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, err
    assert "stream_orders paper (stopped" in out
