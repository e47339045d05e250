"""`manage.py deliver_notifications --loop` (or `--once`): send the outbox's messages.

Modelled on sync_broker's loop: passes of small steps, SIGTERM/SIGINT ending the
loop between sends (the sends under way finish and are recorded), a pass that
crashes logged and retried. On PostgreSQL several deliverers may run, on several
hosts (claims skip each other's rows); on SQLite one runs at a time (a lock).
"""

import logging
import signal
import time
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils import timezone

from orderstate.locks import single_instance
from orderstate.notify import housekeeping
from orderstate.notify.deliverer import Deliverer

LOCK_NAME = "notify-deliverer"
TIDY_EVERY = 30.0  # seconds between give-up, prune and stale-sync checks in the loop
log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Deliver notifications (webhooks, Telegram) from the outbox, once or in a loop."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stopping = False

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--once", action="store_true", help="one pass, then exit")
        mode.add_argument("--loop", action="store_true", help="run until SIGINT/SIGTERM")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between idle passes"
        )
        parser.add_argument(
            "--concurrency", type=int, help="sends at once (ORDERSTATE_NOTIFY_CONCURRENCY)"
        )

    def handle(self, *args, once, loop, interval, concurrency, **options):
        if interval <= 0:
            raise CommandError("--interval must be more than zero seconds")
        if concurrency is not None and concurrency < 1:
            raise CommandError("--concurrency must be at least 1")
        deliverer = Deliverer(concurrency=concurrency)
        try:
            if once:
                self.report(self.handle_one_pass(deliverer), housekeeping.tidy(timezone.now()))
                return
            signal.signal(signal.SIGTERM, self.on_signal)
            signal.signal(signal.SIGINT, self.on_signal)
            self.run_loop(deliverer, interval)
        finally:
            deliverer.close()
        self.stdout.write("deliver_notifications: stopped")

    def run_loop(self, deliverer, interval):
        last_tidy = None
        while not self.stopping:
            # A long-lived process: drop a connection the server has closed meanwhile.
            close_old_connections()
            counts = None
            try:
                counts = self.handle_one_pass(deliverer)
                if last_tidy is None or time.monotonic() - last_tidy >= TIDY_EVERY:
                    self.report(None, housekeeping.tidy(timezone.now()))
                    last_tidy = time.monotonic()
            except Exception:
                log.exception("deliver_notifications: pass crashed")
            self.report(counts, None)
            # Straight on while messages go through; a pause when idle or all failing.
            if not (counts and counts["delivered"]):
                self.wait(interval)

    def handle_one_pass(self, deliverer):
        """One pass; None when another deliverer holds SQLite's lock."""
        with self.one_deliverer() as acquired:
            if not acquired:
                return None
            return deliverer.deliver_due(stopping=lambda: self.stopping)

    def one_deliverer(self):
        if connection.vendor == "postgresql":
            return nullcontext(True)
        return single_instance(LOCK_NAME)

    def report(self, counts, tidied):
        figures = {key: (counts or {}).get(key) for key in ("delivered", "failed", "dead")}
        figures |= {f"tidy {key}": value for key, value in (tidied or {}).items()}
        parts = [f"{key} {value}" for key, value in figures.items() if value]
        if parts:
            self.stdout.write(f"deliver_notifications: {', '.join(parts)}")
            self.stdout.flush()

    def wait(self, seconds):
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.2, deadline - time.monotonic()))

    def on_signal(self, signum, frame):
        self.stopping = True
