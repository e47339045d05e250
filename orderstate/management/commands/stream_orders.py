"""`manage.py stream_orders`: apply the broker's real-time order feed as it comes.

Runs until SIGINT/SIGTERM (each ends it between two frames), or, replaying a
file of recorded frames, until the file ends; then prints a summary of what
became of every frame. See docs/broker-sync.md, "Real time: the order feed".
"""

import json
import signal
import time

from django.core.management.base import BaseCommand, CommandError

from orderstate.feed.consumer import OUTCOMES
from orderstate.feed.setup import build_stream

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Command(BaseCommand):
    help = "Apply the broker's real-time order feed (Kotak, paper) or replay recorded frames."

    def add_arguments(self, parser):
        parser.add_argument(
            "--broker",
            help="kotak, paper, replay or a dotted path to a broker class "
            "(default: ORDERSTATE_BROKER)",
        )
        parser.add_argument(
            "--file", help="frames to replay, one raw frame per line (with --broker replay)"
        )
        parser.add_argument("--account", help="default: ORDERSTATE_DEFAULT_ACCOUNT")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, **options):
        if options["file"] and options["broker"] is None:
            options["broker"] = "replay"
        try:
            self.stream = build_stream(
                options["broker"], file=options["file"], account=options["account"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        handlers = {number: signal.signal(number, self.on_signal) for number in STOP_SIGNALS}
        started = time.monotonic()
        try:
            self.stream.run()
        except OSError as exc:  # the replay file cannot be read
            raise CommandError(f"cannot read {options['file']}: {exc}") from None
        finally:
            for number, handler in handlers.items():
                signal.signal(number, handler)
        report = self.report(time.monotonic() - started)
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(self.text(report))

    def on_signal(self, signum, frame):
        self.stream.stopping = True

    def report(self, seconds):
        stream = self.stream
        counts = stream.consumer.counts
        return {
            "broker": stream.source.name,
            "account": stream.consumer.ctx.account,
            "frames": stream.consumer.total,
            "outcomes": {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
            "full_syncs": dict(stream.syncs),
            "reconnects": max(stream.connections - 1, 0),
            "ended": "file ended" if stream.ended else "stopped",
            "seconds": round(seconds, 3),
        }

    def text(self, report):
        outcomes = " ".join(f"{name}={count}" for name, count in report["outcomes"].items())
        syncs = " ".join(f"{name}={count}" for name, count in report["full_syncs"].items())
        return (
            f"stream_orders {report['broker']} ({report['ended']}, {report['seconds']:.1f} s): "
            f"{report['frames']} frames: {outcomes}; full syncs: {syncs}; "
            f"reconnects={report['reconnects']}"
        )
