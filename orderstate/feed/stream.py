"""The stream: one process applying a broker's order feed, held by one process across hosts.

Modelled on healthchecks' `sendalerts` (as `sync_broker` is): the loop is made of
small steps (read one event, apply one frame, write the status, check the lock),
`stopping` (set by SIGTERM/SIGINT) ends it between steps, and a step that
crashes is logged and the loop goes on.

Only the holder of the database lock `order-feed:<account>` connects; a second
copy waits, trying every ORDERSTATE_FEED_STATUS_SECONDS, and takes over when the
first dies (PostgreSQL drops a dead session's lock at once; SQLite's lock row is
taken over once its holder stopped renewing it for ORDERSTATE_FEED_LOCK_TTL_SECONDS).
The holder renews the lock as often and steps down the moment it is no longer
its own.

After every connect (and after a database failure) a full sync runs, so an
update sent while the stream was not listening is not lost; frames older than
the book it read are then stale. A fill held back for want of a price for
longer than ORDERSTATE_FEED_PRICE_WAIT_SECONDS is also settled by a full sync.
"""

import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection

from orderstate.feed.sources import CONNECTED, DISCONNECTED, END, FRAME
from orderstate.locks import lease
from orderstate.models import SyncOutcome
from orderstate.sync import run_sync

log = logging.getLogger(__name__)

EVENT_WAIT = 0.2  # seconds one step waits for an event: how soon a signal is noticed
SYNC_RETRY = (2.0, 60.0)  # a full sync that failed or was skipped: first and longest wait


def lock_name(account):
    return f"order-feed:{account}"


class Stream:
    """Reads `source`'s events and hands its frames to `consumer` until stopped or the source ends.

    `sync_broker`, when given, is read by a full sync after every connect; `health`
    (a StatusWriter) records the feed's health; `exclusive` takes the feed's lock.
    """

    def __init__(self, source, consumer, *, sync_broker=None, health=None, exclusive=True):
        self.source = source
        self.consumer = consumer
        self.sync_broker = sync_broker
        self.health = health
        self.exclusive = exclusive
        self.stopping = False
        self.ended = False
        self.connections = 0
        self.syncs = {"ok": 0, "failed": 0, "skipped": 0}
        self.sync_due = None
        self.sync_failures = 0

    # The outer loop: the lock --------------------------------------------------------

    def run(self):
        """Serve the feed until `stopping` is set or the source ends."""
        if not self.exclusive:
            self._serve(None)
            return
        waiting_logged = False
        while not self.stopping and not self.ended:
            try:
                with lease(lock_name(self.consumer.ctx.account), self._lock_ttl()) as held:
                    if held is not None:
                        waiting_logged = False
                        log.info("feed: holding the %s feed", self.source.name)
                        self._serve(held)
                        continue
            except DatabaseError:
                log.exception("feed: the database failed while taking the feed's lock")
                connection.close()
            else:
                if not waiting_logged:
                    log.info("feed: another stream holds the feed; waiting to take over")
                    waiting_logged = True
            self._pause(settings.ORDERSTATE_FEED_STATUS_SECONDS)

    def _lock_ttl(self):
        return settings.ORDERSTATE_FEED_LOCK_TTL_SECONDS

    # The inner loop: one event at a time --------------------------------------------

    def _serve(self, held):
        renew_every = settings.ORDERSTATE_FEED_STATUS_SECONDS
        self.sync_due = None
        self._guard(self._status, "started")
        self.source.start()
        renewed = time.monotonic()
        try:
            while not self.stopping:
                event = self._guard(self.source.next_event, EVENT_WAIT)
                if event is not None and event.kind == END:
                    self.ended = True
                    break
                if event is not None:
                    self._guard(self.handle_event, event)
                self._guard(self.handle_due_sync)
                if held is not None and (
                    self.consumer.database_failed or time.monotonic() - renewed >= renew_every
                ):
                    if not self._still_held(held):
                        break
                    renewed = time.monotonic()
                self._guard(self._tick)
        finally:
            self.source.stop()
            self._guard(self._status, "stopped")

    def handle_event(self, event):
        if event.kind == FRAME:
            _, outcome = self.consumer.handle(event.raw)
            if outcome == "refused":
                self.source.session_refused()
        elif event.kind == CONNECTED:
            log.info("feed: connected to the %s feed", self.source.name)
            self.connections += 1
            self._status("connected")
            self.sync_due = time.monotonic()  # at once: what was sent meanwhile
        elif event.kind == DISCONNECTED:
            self._status("disconnected", event.reason)

    def handle_due_sync(self):
        """Run the full sync when due: after a connect, or a fill long held for its price."""
        now = time.monotonic()
        held_since = self.consumer.awaiting_since()
        waited = (
            held_since is not None
            and now - held_since >= settings.ORDERSTATE_FEED_PRICE_WAIT_SECONDS
        )
        if waited and self.sync_due is None:
            self.sync_due = now
        if self.sync_broker is None or self.sync_due is None or now < self.sync_due:
            return
        self.full_sync()

    def full_sync(self):
        """One sync of the whole book; frames older than it are then stale."""
        reader = BookReader(self.sync_broker)
        run = run_sync(broker=reader, account=self.consumer.ctx.account)
        self.syncs[run.outcome] = self.syncs.get(run.outcome, 0) + 1
        if run.outcome == SyncOutcome.OK:
            self.consumer.remember_book(reader.book or ())
            self.sync_due = None
            self.sync_failures = 0
            log.info("feed: full sync #%s ok", run.pk)
            return run
        first, longest = SYNC_RETRY
        wait = min(longest, first * 2**self.sync_failures)
        self.sync_failures += 1
        self.sync_due = time.monotonic() + wait
        log.warning(
            "feed: full sync #%s %s (%s); again in %.0f s", run.pk, run.outcome, run.error, wait
        )
        return run

    # Steps' helpers -----------------------------------------------------------------

    def _still_held(self, held):
        if self.consumer.database_failed:
            # The connection may be broken: drop it, so the next query opens a new one.
            # On PostgreSQL the lock goes with it; the stream takes it again and syncs.
            self.consumer.database_failed = False
            connection.close()
        if held.renew():
            return True
        log.error("feed: the feed's lock is no longer ours; stepping down")
        return False

    def _tick(self):
        if self.health is not None:
            self.health.tick(self.consumer.counts, self.consumer.last_frame_at)

    def _status(self, what, reason=""):
        if self.health is None:
            return
        counts, last = self.consumer.counts, self.consumer.last_frame_at
        if what == "started":
            self.health.started()
        elif what == "connected":
            self.health.connected(counts, last)
        elif what == "disconnected":
            self.health.disconnected(reason, counts, last)
        else:
            self.health.stopped(counts, last)

    def _guard(self, step, *args):
        """Run one step; a crash is logged and the loop goes on (the next step retries)."""
        try:
            return step(*args)
        except Exception:
            log.exception("feed: %s failed", getattr(step, "__name__", step))
            self._pause(EVENT_WAIT)
            return None

    def _pause(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(EVENT_WAIT, max(deadline - time.monotonic(), 0)))


class BookReader:
    """The sync's broker, keeping the book it read (its rows' times make older frames stale)."""

    def __init__(self, broker):
        self.broker = broker
        self.name = getattr(broker, "name", "broker")
        self.book = None

    def fetch_order_book(self):
        self.book = self.broker.fetch_order_book()
        return self.book

    def __getattr__(self, name):
        # Whatever else the sync reads of its broker (the trade book, positions).
        return getattr(self.broker, name)
