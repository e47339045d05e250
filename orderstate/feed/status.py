"""The feed's health, kept in the database (FeedStatus) so other processes can show it.

The stream writes its row when it starts, connects, loses the connection (the
first loss after a connection is also a `feed_down` event) and stops, and
otherwise at most every ORDERSTATE_FEED_STATUS_SECONDS, so a busy
feed costs one small UPDATE every few seconds, not one per frame. The counts
are totals over every stream that held the feed (a counter for `/metrics`).

How the others read it is `checks.feed_health`.
"""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.models import EventSource, FeedStatus


class StatusWriter:
    """The one writer of a broker account's FeedStatus row: the stream that holds the feed."""

    def __init__(self, broker, account, *, interval=None, clock=timezone.now):
        self.broker = broker
        self.account = account
        self.interval = timedelta(
            seconds=settings.ORDERSTATE_FEED_STATUS_SECONDS if interval is None else interval
        )
        self.clock = clock
        self.row = None
        self.frames_before = {}
        self.reconnects_before = 0
        self.connections = 0
        self.written_at = None

    def started(self):
        """Take the row over for this process; the counts go on from the totals it holds."""
        now = self.clock()
        self.row, _ = FeedStatus.objects.get_or_create(broker=self.broker, account=self.account)
        self.frames_before = dict(self.row.frames or {})
        self.reconnects_before = self.row.reconnects
        self.connections = 0
        self._write(
            running=True,
            connected=False,
            holder=f"{socket.gethostname()}:{os.getpid()}",
            started_at=now,
            last_error="",
        )

    def connected(self, counts, last_frame_at):
        self.connections += 1
        self._write(connected=True, **self._figures(counts, last_frame_at))

    def disconnected(self, reason, counts, last_frame_at):
        """Note a lost connection; the first loss after a connection is a `feed_down` event
        (notifications may want it), not every failed reconnect after it."""
        if self.row.connected:
            ctx = Context.of(EventSource.SYNC, account=self.account)
            notifications.record_feed_down(ctx, reason, broker=self.broker)
        self._write(
            connected=False,
            disconnected_at=self.clock(),
            last_error=reason[:500],
            **self._figures(counts, last_frame_at),
        )

    def stopped(self, counts, last_frame_at):
        self._write(running=False, connected=False, **self._figures(counts, last_frame_at))

    def tick(self, counts, last_frame_at):
        """Write the figures if the last write is older than the interval."""
        if self.written_at is None or self.clock() - self.written_at >= self.interval:
            self._write(**self._figures(counts, last_frame_at))

    def _figures(self, counts, last_frame_at):
        frames = dict(self.frames_before)
        for outcome, count in counts.items():
            frames[outcome] = frames.get(outcome, 0) + count
        figures = {
            "frames": frames,
            "reconnects": self.reconnects_before + max(self.connections - 1, 0),
        }
        if last_frame_at is not None:
            figures["last_frame_at"] = last_frame_at
        return figures

    def _write(self, **fields):
        now = self.clock()
        fields["updated_at"] = now
        for name, value in fields.items():
            setattr(self.row, name, value)
        FeedStatus.objects.filter(pk=self.row.pk).update(**fields)
        self.written_at = now
