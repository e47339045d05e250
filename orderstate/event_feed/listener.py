"""One thread per process that learns when events settle and wakes the requests waiting for them.

A long poll (`GET /api/v1/events/?wait=`) holds a gunicorn thread while it
waits, but no database connection: it waits here, on a condition. The listener
thread holds the process's one connection for the feed (the `event_listener`
database alias, outside any pool), reads each newly settled event once, keeps
the latest in memory and wakes every waiter, who takes what it wants from
there. So fifty waiting bots cost one query per event per process, not fifty,
and a woken waiter answers without waiting for a database connection.

On PostgreSQL the thread LISTENs for the NOTIFY a trigger sends with every
commit of events (migration 0011); on SQLite it looks every
`ORDERSTATE_EVENT_POLL_MS`. It starts with the first waiter and stops after a
minute without one.
"""

import bisect
import logging
import threading
import time

from django.conf import settings
from django.db import connections

from orderstate.event_feed import settled
from orderstate.event_feed.settled import Page, Position

log = logging.getLogger(__name__)

DATABASE = "event_listener"
CHANNEL = "orderstate_events"
# Settled events kept in memory per process; a waiter further behind reads the database.
KEPT = 1000
# Events read per query when many settle at once.
BATCH = 500
# How long the thread outlives its last waiter, and how often it looks without news.
IDLE_SECONDS = 60.0
QUIET_SECONDS = 1.0
# Committed events held back by an older transaction of this database still running
# settle when it ends, which sends no NOTIFY when it wrote no event: look again soon.
HELD_FIRST_LOOK, HELD_LAST_LOOK = 0.005, 0.5
RECONNECT_SECONDS = (0.5, 5.0)


class TooManyWaiters(Exception):
    """This process already holds `ORDERSTATE_EVENT_WAITERS` waiting requests."""


class Listener:
    """Settled events as they come, for the requests of one process that wait for them."""

    def __init__(self):
        self._changed = threading.Condition()
        self._thread = None
        self._stopping = False
        self._waiters = 0
        self._idle_since = time.monotonic()
        self._reset()

    def _reset(self):
        # `_events` are the settled events after `_floor`, every one of them up to `_last`;
        # `_by_id` their positions by id.
        self._events = []
        self._positions = []
        self._by_id = {}
        self._floor = None
        self._last = None
        self._held = False

    @property
    def waiters(self):
        """Requests of this process waiting now."""
        return self._waiters

    @property
    def running(self):
        """True while the thread (and its database connection) is up."""
        return self._thread is not None

    def covers(self, after):
        """True when every settled event after position `after` is, or will be, in memory:
        a request may then wait here without reading the database first."""
        with self._changed:
            return self._floor is not None and self._floor <= after

    def position_of(self, event_id):
        """The position of an event in memory (or of the last one read), else None."""
        with self._changed:
            if self._last is not None and self._last.id == event_id:
                return self._last
            return self._by_id.get(event_id)

    def wait(self, after, *, account=None, kinds=(), limit, deadline):
        """The page of events after position `after` once one settles, or an empty page at
        `deadline` (a `time.monotonic()` value).

        None when the events since `after` are no longer (or not yet) all in
        memory: the caller reads the database and waits again from there. Events
        already here are answered at once, without taking one of the process's
        `ORDERSTATE_EVENT_WAITERS` places.
        """
        with self._changed:
            if self._floor is not None and self._floor <= after:
                found = self._found(after, account, kinds, limit)
                if found is not None:
                    return found
            if self._waiters >= settings.ORDERSTATE_EVENT_WAITERS:
                raise TooManyWaiters()
            self._waiters += 1
            try:
                self._start(after)
                return self._wait(after, account, kinds, limit, deadline)
            finally:
                self._waiters -= 1
                self._idle_since = time.monotonic()

    def _wait(self, after, account, kinds, limit, deadline):
        cursor = after
        while True:
            if self._floor is None or self._floor > cursor:  # stopped, or too far behind
                return None
            found = self._found(cursor, account, kinds, limit)
            if found is not None:
                return found
            cursor = max(cursor, self._last)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Page([], cursor, self._held)
            self._changed.wait(remaining)

    def _found(self, cursor, account, kinds, limit):
        """The page of wanted events after `cursor` in memory, or None when there is none."""
        events = self._matching(cursor, account, kinds, limit)
        if not events:
            return None
        last = Position.of(events[-1]) if len(events) == limit else self._last
        return Page(events, last, self._held)

    def _matching(self, cursor, account, kinds, limit):
        found = []
        for event in self._events[bisect.bisect_right(self._positions, cursor) :]:
            if (account is None or event.account == account) and (not kinds or event.kind in kinds):
                found.append(event)
                if len(found) == limit:
                    break
        return found

    def stop(self):
        """Stop the thread and wait for it, once no request waits (tests; a process
        exiting needs nothing: the thread is a daemon)."""
        with self._changed:
            thread, self._stopping = self._thread, True
            self._changed.notify_all()
        if thread is not None:
            thread.join()
        with self._changed:
            self._stopping = False

    # The thread -----------------------------------------------------------------------

    def _start(self, after):
        """Start the thread, reading on from the first waiter's position: the waiter has
        just read the database up to there."""
        if self._thread is None:
            self._floor = self._last = after
            self._thread = threading.Thread(target=self._run, name="event-listener", daemon=True)
            self._thread.start()

    def _run(self):
        failures = 0
        try:
            while not self._done():
                try:
                    self._follow()
                    failures = 0
                except Exception:  # the database went away: wait, connect again, catch up
                    log.warning("event listener lost its database connection", exc_info=True)
                    connections[DATABASE].close()
                    first, most = RECONNECT_SECONDS
                    time.sleep(min(most, first * 2**failures))
                    failures += 1
        finally:
            connections[DATABASE].close()

    def _done(self):
        """True when this thread should end. The first time, it retires: the next waiter
        starts a new thread, with fresh state."""
        with self._changed:
            if self._thread is not threading.current_thread():
                return True
            idle = not self._waiters and time.monotonic() - self._idle_since > IDLE_SECONDS
            if not (self._stopping or idle):
                return False
            self._thread = None
            self._reset()
            self._changed.notify_all()
            return True

    def _follow(self):
        """Listen (PostgreSQL) or look (SQLite) for news and read it, until done."""
        connection = connections[DATABASE]
        postgresql = connection.vendor == "postgresql"
        if postgresql:
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {CHANNEL}")
        held = self._catch_up()
        look_again = HELD_FIRST_LOOK
        while not self._done():
            if postgresql:
                news = connection.connection.notifies(
                    timeout=look_again if held else QUIET_SECONDS, stop_after=1
                )
                for _ in news:
                    pass
            else:
                time.sleep(settings.ORDERSTATE_EVENT_POLL_SECONDS)
            held = self._catch_up()
            look_again = min(HELD_LAST_LOOK, look_again * 2) if held else HELD_FIRST_LOOK

    def _catch_up(self):
        """Read every event settled since the last look; True when some wait behind others."""
        while True:
            page = settled.read(self._last, limit=BATCH, using=DATABASE)
            with self._changed:
                self._keep(page)
            if len(page.events) < BATCH:
                return page.held

    def _keep(self, page):
        for event in page.events:
            position = Position.of(event)
            self._events.append(event)
            self._positions.append(position)
            self._by_id[position.id] = position
        if len(self._events) > KEPT:
            self._floor = self._positions[-KEPT - 1]
            for position in self._positions[:-KEPT]:
                del self._by_id[position.id]
            del self._events[:-KEPT], self._positions[:-KEPT]
        self._last, self._held = page.next, page.held
        if page.events:
            self._changed.notify_all()


listener = Listener()
