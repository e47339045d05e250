"""Kotak's order feed as a source of frames: one connection at a time, rebuilt when it fails.

The SDK's websocket client runs on an asyncio loop in a thread of its own; it
hands every raw frame to `on_raw`, which puts it on a queue the stream reads.
Logging in (REST) stays on the stream's thread, beside the full syncs, so the
SDK's session is never used from two threads at once.

The SDK does not notice every end of a connection (a server that closes right
after a burst leaves it waiting forever, and frames still buffered are lost),
so a watchdog checks the socket ten times a second and rebuilds the
connection when it is no longer open; the full sync after every connect
recovers whatever was lost. A connection that ends before the server
acknowledged the session's token, or with an acknowledgement that is not
"ok", is a refused session: the next connection logs in again first.
Reconnects back off exponentially with jitter, up to a ceiling, and start
again from the shortest wait once a connection has stayed up for a while.
"""

import asyncio
import contextlib
import json
import logging
import queue
import random
import threading
import time

from orderstate.brokers.kotak_feed import forget_session, open_order_feed
from orderstate.feed.sources import CONNECTED, DISCONNECTED, FRAME, Event

log = logging.getLogger(__name__)

WATCHDOG_TICK = 0.1
STOP_WAIT = 15.0


class Backoff:
    """Seconds to wait before the next connection, growing with consecutive failures."""

    def __init__(self, base, ceiling, *, rng=random.uniform):
        self.base = base
        self.ceiling = ceiling
        self.rng = rng

    def delay(self, failures):
        # Full jitter: streams on several hosts that lost the same server do not return in step.
        top = min(self.ceiling, self.base * 2 ** min(failures, 20))
        return self.rng(top / 2, top)


class KotakSource:
    """Events from Kotak's order feed for one KotakBroker (its session, its feed URL)."""

    name = "kotak"

    def __init__(self, broker, *, backoff, ack_seconds, stable_seconds, url=None):
        self.broker = broker
        self.backoff = backoff
        self.ack_seconds = ack_seconds
        self.stable_seconds = stable_seconds
        self.url = url
        self.events = queue.Queue()
        self.connection = None
        self.failures = 0
        self.connect_at = None
        self.relogin = False

    def start(self):
        self._discard_events()
        self.connect_at = time.monotonic()

    def next_event(self, timeout):
        if self.connection is None and self.connect_at is not None:
            wait = self.connect_at - time.monotonic()
            if wait <= 0:
                self._connect()
            else:
                timeout = min(timeout, wait)
        try:
            event = self.events.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if event.kind == DISCONNECTED:
            self._ended(event)
        return event

    def session_refused(self):
        """The stream saw the server refuse the session: log in again before the next connect."""
        self.relogin = True
        if self.connection is not None:
            self.connection.stop("the server refused the session")

    def stop(self):
        self.connect_at = None
        if self.connection is not None:
            self.connection.stop()
            self.connection.join(STOP_WAIT)
            self.connection = None
        # Frames not yet read are left to the full sync after the next connect.
        self._discard_events()

    def _discard_events(self):
        with contextlib.suppress(queue.Empty):
            while True:
                self.events.get_nowait()

    def _connect(self):
        if self.relogin:
            forget_session(self.broker)
            self.relogin = False
        try:
            feed = open_order_feed(self.broker, url=self.url)
        except Exception as exc:  # a refused login, the SDK missing: try again later
            log.warning("feed: cannot open Kotak's order feed: %s", exc)
            self.events.put(Event(DISCONNECTED, reason=f"login failed: {exc}"))
            self.connect_at = None
            return
        self.connection = Connection(feed, self.events, self.ack_seconds)
        self.connection.start()
        self.connect_at = None

    def _ended(self, event):
        lasted = self.connection.lasted if self.connection is not None else 0.0
        if self.connection is not None:
            self.connection.join(STOP_WAIT)
            self.connection = None
        if event.refused:
            self.relogin = True
        self.failures = 0 if lasted >= self.stable_seconds else self.failures + 1
        delay = self.backoff.delay(self.failures)
        log.warning(
            "feed: Kotak connection ended after %.1f s (%s); reconnecting in %.1f s",
            lasted,
            event.reason,
            delay,
        )
        self.connect_at = time.monotonic() + delay


class Connection(threading.Thread):
    """One websocket connection through the SDK, watched until it ends or is stopped."""

    def __init__(self, feed, events, ack_seconds):
        super().__init__(name="kotak-order-feed", daemon=True)
        self.feed = feed
        self.events = events
        self.ack_seconds = ack_seconds
        self.stopping = threading.Event()
        self.stop_reason = "stopped"
        self.acknowledged = None  # True: "ok"; False: refused; None: not yet
        self.opened_at = None
        self.closed_at = None

    @property
    def lasted(self):
        if self.opened_at is None:
            return 0.0
        return (self.closed_at or time.monotonic()) - self.opened_at

    def stop(self, reason="stopped"):
        self.stop_reason = reason
        self.stopping.set()

    def run(self):
        reason, refused = asyncio.run(self._session())
        self.closed_at = time.monotonic()
        self.events.put(Event(DISCONNECTED, reason=reason, refused=refused))

    def on_raw(self, raw):
        if self.acknowledged is None:
            self.acknowledged = _acknowledgement(raw)
        self.events.put(Event(FRAME, raw=raw))

    async def _session(self):
        self.feed.on_raw = self.on_raw
        try:
            await self.feed.connect()
        except Exception as exc:
            return f"connect failed: {exc}", False
        self.opened_at = time.monotonic()
        self.events.put(Event(CONNECTED))
        # The SDK also queues a parsed copy of each frame; read them so its queue stays empty.
        drain = asyncio.create_task(_drain(self.feed))
        try:
            return await self._watch()
        finally:
            with contextlib.suppress(Exception):
                await self.feed.close()
            drain.cancel()
            with contextlib.suppress(BaseException):
                await drain

    async def _watch(self):
        while True:
            await asyncio.sleep(WATCHDOG_TICK)
            if self.stopping.is_set():
                return self.stop_reason, False
            if self.acknowledged is False:
                return "the server refused the session", True
            if not self.feed.is_connected:
                # Closed before the server acknowledged the token: take it as refused.
                return "the connection closed", self.acknowledged is None
            if self.acknowledged is None and time.monotonic() - self.opened_at > self.ack_seconds:
                return f"no acknowledgement within {self.ack_seconds:g} s", True


async def _drain(feed):
    with contextlib.suppress(Exception):
        async for _ in feed:
            pass


def _acknowledgement(raw):
    """True/False for a connection acknowledgement ("ak" ok or not), None for any other frame."""
    try:
        frame = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(frame, dict) or not ("ak" in frame or frame.get("type") == "cn"):
        return None
    return str(frame.get("ak", "ok")).lower() == "ok"
