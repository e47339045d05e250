"""The stream's loop: the paper market as a feed, a full sync when a price never comes, the
feed's status row, and stepping down when the lock is no longer its own."""

from contextlib import contextmanager
from decimal import Decimal

import pytest

from orderstate.actions.base import Context
from orderstate.brokers.paper import PaperBroker
from orderstate.feed import stream as stream_module
from orderstate.feed.consumer import FrameConsumer
from orderstate.feed.setup import build_stream
from orderstate.feed.sources import CONNECTED, FRAME, Event, PaperSource
from orderstate.feed.status import StatusWriter
from orderstate.feed.stream import Stream
from orderstate.manager import OrderStateManager
from orderstate.models import EventSource, FeedStatus, Order, SyncRun
from orderstate.states import Status
from orderstate.sync.sources import GivenBook
from tests import kotak_book
from tests.feed.frames import T0, order_frame
from tests.feed.running import run_until

pytestmark = pytest.mark.django_db


class ListSource:
    """Connects, hands out the given frames, then stays quiet; counts its starts and stops."""

    name = "list"

    def __init__(self, *frames):
        self.frames = list(frames)
        self.events = []
        self.starts = self.stops = 0

    def start(self):
        self.starts += 1
        self.events = [Event(CONNECTED), *(Event(FRAME, raw=frame) for frame in self.frames)]

    def next_event(self, timeout):
        return self.events.pop(0) if self.events else None

    def session_refused(self):
        pass

    def stop(self):
        self.stops += 1


class Books:
    """A broker whose book is the next of `books` at each read (the last one repeats)."""

    name = "books"

    def __init__(self, *books):
        self.books = [GivenBook(rows) for rows in books]
        self.reads = 0

    def fetch_order_book(self):
        book = self.books[min(self.reads, len(self.books) - 1)]
        self.reads += 1
        return book.fetch_order_book()


def consumer():
    return FrameConsumer(Context.of(EventSource.SYNC))


def test_the_paper_market_moves_registered_orders_through_frames(manager, settings):
    settings.ORDERSTATE_PAPER_SEED = 7
    manager.register_buy_order("RELIANCE-EQ", "P-1", "2450.00", 10, "RELIANCE.NS")
    broker = PaperBroker()
    stream = Stream(
        PaperSource(broker, step_seconds=0),
        consumer(),
        sync_broker=broker,
        health=StatusWriter("paper", "default", interval=0),
    )

    # Steps until the order executes; the frames of its partial fills come first.
    assert run_until(stream, lambda: stream.consumer.counts["applied"] >= 3)

    order = Order.objects.get(broker_order_id="P-1")
    assert order.status in (Status.PARTIALLY_FILLED, Status.EXECUTED)
    assert order.events.filter(kind="fill").exists()
    assert stream.syncs["ok"] == 1  # the full sync after "connecting"
    status = FeedStatus.objects.get(broker="paper")
    assert status.frames["applied"] >= 3
    assert not status.running


def test_a_fill_whose_price_never_comes_is_settled_by_a_full_sync(manager, settings):
    settings.ORDERSTATE_FEED_PRICE_WAIT_SECONDS = 1
    manager.register_buy_order("TCS-EQ", "T-1", "3450.00", 5, "TCS.NS")
    # The book at connect time shows the order open; by the next read, complete and priced.
    # Both books were read before the frame was sent (their updRecvTm is older).
    books = Books(
        [kotak_book.row("T-1", "TCS", "B", "open", 5, 0, "3450.00", updRecvTm=T0 - 1)],
        [
            kotak_book.row(
                "T-1", "TCS", "B", "complete", 5, 5, "3450.00", "3449.20", updRecvTm=T0 - 1
            )
        ],
    )
    source = ListSource(order_frame("T-1", "complete", 5, 5, "0.00", at=T0))
    stream = Stream(source, consumer(), sync_broker=books)

    assert run_until(stream, lambda: stream.syncs["ok"] == 2)

    order = Order.objects.get(broker_order_id="T-1")
    assert stream.consumer.counts["awaiting_price"] == 1
    assert (order.status, order.average_price) == (Status.EXECUTED, Decimal("3449.2000"))
    assert stream.consumer.awaiting_since() is None
    assert SyncRun.objects.count() == 2


def test_after_a_full_sync_frames_older_than_its_book_are_stale(manager):
    manager.register_buy_order("TCS-EQ", "T-1", "3450.00", 5, "TCS.NS")
    row = kotak_book.row("T-1", "TCS", "B", "open", 3, 0, "3450.00", updRecvTm=T0 + 10)
    source = ListSource(order_frame("T-1", "open", 5, 0, "0.00", at=T0))
    stream = Stream(source, consumer(), sync_broker=GivenBook([row]))

    assert run_until(stream, lambda: stream.consumer.total == 1)

    assert stream.consumer.counts["stale"] == 1
    assert Order.objects.get(broker_order_id="T-1").quantity == 3  # as the newer book says


def test_the_stream_steps_down_when_its_lock_is_no_longer_its_own(monkeypatch, settings):
    settings.ORDERSTATE_FEED_STATUS_SECONDS = 1
    taken = []

    class LostLease:
        def renew(self):
            return False

    @contextmanager
    def fake_lease(name, ttl_seconds=None):
        taken.append(name)
        yield LostLease()

    monkeypatch.setattr(stream_module, "lease", fake_lease)
    source = ListSource()
    stream = Stream(source, consumer())

    run_until(stream, lambda: len(taken) >= 2)

    # Each time: took the lock, connected, found the lock gone, stopped the source.
    assert taken[:2] == ["order-feed:default", "order-feed:default"]
    assert source.starts >= 2 and source.stops == source.starts


def test_a_stream_for_another_account_reads_and_syncs_that_account(settings):
    other = OrderStateManager(source="bot", account="second")
    # A market order of 12 fills 4 a step: the sync after connecting sees the first 4,
    # the feed's own steps the rest.
    other.register_buy_order("ITC-EQ", "P-2", None, 12, "ITC.NS")
    stream = build_stream("paper", account="second")

    assert run_until(stream, lambda: stream.consumer.counts["applied"] >= 1)

    order = Order.objects.get(account="second", broker_order_id="P-2")
    assert order.filled_quantity >= 8
    assert SyncRun.objects.filter(outcome="ok").exists()
    assert FeedStatus.objects.get(broker="paper").account == "second"
