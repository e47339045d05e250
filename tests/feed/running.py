"""Running a Stream in the test's own thread until something happened, without timed sleeps.

The stream keeps the test's database connection (and its transaction); a
watcher thread reads only in-memory figures (the consumer's counts, a fake
server's record) and sets `stopping` once the condition holds or the deadline
passes, so a test that waits for something that never comes fails on its
assertions instead of hanging.
"""

import threading
import time

from orderstate.actions.base import Context
from orderstate.feed.consumer import FrameConsumer
from orderstate.feed.kotak import Backoff, KotakSource
from orderstate.feed.status import StatusWriter
from orderstate.feed.stream import Stream
from orderstate.models import EventSource

DEADLINE = 30.0


def run_until(stream, condition, deadline=DEADLINE):
    """Run `stream` until `condition()` is true (checked by a watcher thread); True if it was."""
    met = threading.Event()

    def watch():
        end = time.monotonic() + deadline
        while time.monotonic() < end and not stream.stopping:
            if condition():
                met.set()
                break
            time.sleep(0.02)
        stream.stopping = True

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stream.run()
    watcher.join()
    return met.is_set()


def quick_backoff():
    """Reconnects after 50-100 ms, then up to 0.2 s: the real curve, scaled down for tests."""
    return Backoff(0.1, 0.2)


def kotak_stream(broker, url, *, status=True, ack_seconds=5, stable_seconds=60, account="default"):
    """A Stream over Kotak's feed at `url`, with the same broker behind its full syncs."""
    source = KotakSource(
        broker,
        backoff=quick_backoff(),
        ack_seconds=ack_seconds,
        stable_seconds=stable_seconds,
        url=url,
    )
    consumer = FrameConsumer(Context.of(EventSource.SYNC, None, account))
    writer = StatusWriter("kotak", account, interval=0) if status else None
    return Stream(source, consumer, sync_broker=broker, health=writer)
