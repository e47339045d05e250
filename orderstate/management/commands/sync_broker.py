"""`manage.py sync_broker`: make the database follow the broker's order book.

The loop is modelled on healthchecks' `sendalerts`: small steps, a flag set by
SIGINT/SIGTERM that ends the loop between runs, and a failed run logged and
retried later (with backoff) instead of killing the process. A refused broker
login (wrong credentials, a machine not whitelisted) waits
ORDERSTATE_LOGIN_REFUSED_BACKOFF before the next try: hammering the login
cannot fix it and may lock the account. The loop also runs the "Sync now"
requests of the dashboard and the API (`sync.request_sync`), within a second.
"""

import json
import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from orderstate.brokers import BROKER_NAMES, get_broker
from orderstate.models import EventSource, SyncOutcome, SyncRun
from orderstate.sync import next_request, run_sync, summary

MAX_BACKOFF = 300
REQUEST_POLL = 1.0  # seconds between looks for a "Sync now" request while waiting
log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Reconcile local orders with the broker's order book, once or in a loop."

    def add_arguments(self, parser):
        parser.add_argument("--broker", choices=BROKER_NAMES, help="default: ORDERSTATE_BROKER")
        parser.add_argument("--file", help="order book JSON to replay (implies --broker replay)")
        parser.add_argument("--loop", action="store_true", help="run until SIGINT/SIGTERM")
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between runs")
        parser.add_argument("--dry-run", action="store_true", help="report changes, write none")
        parser.add_argument("--json", action="store_true", help="print each run as JSON")

    def handle(self, *args, **options):
        if options["interval"] <= 0:
            raise CommandError("--interval must be more than zero seconds")
        if options["file"]:
            if options["broker"] not in (None, "replay"):
                raise CommandError("--file goes with --broker replay")
            options["broker"] = "replay"
        self.options = options
        # One broker for the whole loop: Kotak logs in once, not once per run.
        try:
            self.broker = get_broker(options["broker"], file=options["file"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stopping = False
        if not options["loop"]:
            run = self.handle_one_run()
            if run.outcome == SyncOutcome.FAILED:
                raise CommandError(f"sync failed: {run.error}")
            return
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        failures = 0
        while not self.stopping:
            # A long-lived process: drop a connection the server has closed meanwhile.
            close_old_connections()
            refused, waiting = False, False
            try:
                request = next_request()
                run = self.handle_one_run(request)
            except Exception:
                # The database itself failed (the broker's failures are in the run):
                # log it and try again after the backoff, as sendalerts does.
                log.exception("sync_broker: run crashed")
                failures += 1
            else:
                failures = failures + 1 if run.outcome == SyncOutcome.FAILED else 0
                refused = bool((run.stats or {}).get("login_refused"))
                # A request another sync kept from running: wait before trying it again.
                waiting = run.outcome == SyncOutcome.REQUESTED
            pause = self.pause_after(failures, refused)
            if refused:
                self.stderr.write(
                    f"sync_broker: the broker refused the login; next try in {pause:.0f} s. "
                    "Fix what the error says, then restart this process."
                )
            self.wait(pause, wake_on_request=not waiting)
        self.stdout.write("sync_broker: stopped")

    def handle_one_run(self, request=None):
        """One sync, reported on one line; a broker failure is in the run, not raised."""
        run = run_sync(
            broker=self.broker,
            dry_run=self.options["dry_run"],
            source=EventSource.SYNC,
            request=request,
        )
        if run.outcome == SyncOutcome.SKIPPED:
            self.stderr.write("sync_broker: another sync is running; this run was skipped")
        if self.options["json"]:
            self.stdout.write(json.dumps(_as_json(run)))
        else:
            self.stdout.write(summary(run))
        self.stdout.flush()
        return run

    def pause_after(self, failures, refused=False):
        """The interval, doubled per consecutive failed run up to MAX_BACKOFF; after a
        refused login at least ORDERSTATE_LOGIN_REFUSED_BACKOFF."""
        interval = self.options["interval"]
        pause = interval if not failures else min(MAX_BACKOFF, interval * 2 ** min(failures, 10))
        if refused:
            return max(pause, settings.ORDERSTATE_LOGIN_REFUSED_BACKOFF)
        return pause

    def wait(self, seconds, *, wake_on_request=True):
        """Sleep until the next run is due, a sync is requested, or a signal comes."""
        deadline = time.monotonic() + seconds
        next_look = time.monotonic() + REQUEST_POLL
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(max(0.0, min(0.5, deadline - time.monotonic())))
            if wake_on_request and time.monotonic() >= next_look:
                next_look = time.monotonic() + REQUEST_POLL
                if SyncRun.objects.filter(outcome=SyncOutcome.REQUESTED).exists():
                    return

    def on_signal(self, signum, frame):
        self.stopping = True


def _as_json(run):
    return {
        "id": run.pk,
        "broker": run.broker,
        "outcome": run.outcome,
        "dry_run": run.dry_run,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "stats": run.stats,
        "error": run.error,
    }
