"""A broker for tests/sync/test_kill.py that stops a real sync half-way, inside a transaction.

Selected in a `manage.py sync_broker` subprocess with
`ORDERSTATE_BROKER=tests.blocking_broker.BlockingBroker`. It replays the book in
`ORDERSTATE_REPLAY_FILE`; while the sync applies it, the event of the
`BLOCK_AT_ENV`-th changed order is written and then the process waits, its
transaction open, until the test kills it. Before waiting it writes
`blocked.json` in `SIGNAL_DIR_ENV`: the blocked order and the process's
PostgreSQL backend pid, if any.
"""

import json
import os
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from orderstate.actions import base
from orderstate.brokers.replay import ReplayBroker

BLOCK_AT_ENV = "SYNC_KILL_BLOCK_AT"
SIGNAL_DIR_ENV = "SYNC_KILL_SIGNAL_DIR"


class BlockingBroker(ReplayBroker):
    name = "blocking"

    def __init__(self):
        super().__init__(settings.ORDERSTATE_REPLAY_FILE)
        self.block_at = int(os.environ[BLOCK_AT_ENV])
        self.signal_dir = Path(os.environ[SIGNAL_DIR_ENV])
        self.seen = []

    def fetch_order_book(self):
        book = super().fetch_order_book()
        write_events = base.write_events

        def write_events_then_block(ctx, order, events):
            written = write_events(ctx, order, events)
            if order.broker_order_id not in self.seen:
                self.seen.append(order.broker_order_id)
                if len(self.seen) == self.block_at:
                    self._block(order)
            return written

        base.write_events = write_events_then_block
        return book

    def _block(self, order):
        backend_pid = None
        if connection.vendor == "postgresql":
            backend_pid = connection.connection.info.backend_pid
        signal = {"order_id": order.broker_order_id, "backend_pid": backend_pid}
        partial = self.signal_dir / "blocked.json.part"
        partial.write_text(json.dumps(signal))
        partial.rename(self.signal_dir / "blocked.json")
        while True:
            time.sleep(1)
