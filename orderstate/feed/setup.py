"""The stream for a broker: its source of frames, the consumer, the sync behind it, its status."""

from django.conf import settings

from orderstate.actions.base import Context
from orderstate.brokers import get_broker
from orderstate.brokers.kotak import KotakBroker
from orderstate.brokers.paper import PaperBroker
from orderstate.feed.consumer import FrameConsumer
from orderstate.feed.kotak import Backoff, KotakSource
from orderstate.feed.sources import PaperSource, ReplaySource
from orderstate.feed.status import StatusWriter
from orderstate.feed.stream import Stream
from orderstate.models import EventSource


def build_stream(broker_name=None, *, file=None, account=None):
    """The Stream for `broker_name` (kotak, paper, replay or a dotted path to a broker class).

    Changes are recorded with source "sync": the feed is the broker's word, as the
    sync's book is. Raises ValueError for a broker without an order feed.
    """
    name = (broker_name or settings.ORDERSTATE_BROKER or "").strip()
    account = account or settings.ORDERSTATE_DEFAULT_ACCOUNT
    consumer = FrameConsumer(Context.of(EventSource.SYNC, None, account))
    if name.lower() == "replay":
        if not file:
            raise ValueError("--broker replay reads recorded frames: give --file FRAMES.jsonl")
        # A replay is a one-off tool, not the live feed: no lock, no status, no syncs.
        return Stream(ReplaySource(file), consumer, exclusive=False)
    if file:
        raise ValueError("--file goes with --broker replay")
    broker = get_broker(name)
    if isinstance(broker, KotakBroker):
        source = KotakSource(
            broker,
            backoff=Backoff(
                settings.ORDERSTATE_FEED_RECONNECT_SECONDS,
                settings.ORDERSTATE_FEED_RECONNECT_MAX_SECONDS,
            ),
            ack_seconds=settings.ORDERSTATE_FEED_ACK_SECONDS,
            stable_seconds=settings.ORDERSTATE_FEED_RECONNECT_MAX_SECONDS,
        )
    elif isinstance(broker, PaperBroker):
        broker.account = account  # the paper book of the account the stream applies to
        source = PaperSource(broker, settings.ORDERSTATE_PAPER_STEP_SECONDS)
    else:
        raise ValueError(f"broker {name!r} has no order feed (kotak, paper or replay have one)")
    status = StatusWriter(source.name, account)
    return Stream(source, consumer, sync_broker=broker, health=status)
