import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orderstate.legacy.exporter import export_legacy
from orderstate.locks import single_instance

LOCK_NAME = "export_legacy"


class Command(BaseCommand):
    help = (
        "Write pending_orders.json, trades_history.json and active_sell_orders.json "
        "from the database in the old bot's formats (atomically)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", type=Path, required=True)
        parser.add_argument("--account", default=settings.ORDERSTATE_DEFAULT_ACCOUNT)
        parser.add_argument("--watch", action="store_true", help="keep the files current")
        parser.add_argument(
            "--interval", type=float, default=5.0, help="seconds between exports with --watch"
        )

    def handle(self, *args, data_dir, account, watch, interval, **options):
        if interval <= 0:
            raise CommandError("--interval must be positive")
        if not watch:
            self._export_once(data_dir, account)
            return
        stop = threading.Event()
        previous = {
            signum: signal.signal(signum, lambda *_: stop.set())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop.is_set():
                try:
                    self._export_once(data_dir, account)
                except CommandError as exc:
                    # A full disk or a permission change is logged and retried next round.
                    self.stderr.write(f"export failed: {exc}")
                stop.wait(interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("stopped")

    def _export_once(self, data_dir, account):
        """One export under the lock, taken per round: a row lock (SQLite) has a TTL."""
        with single_instance(LOCK_NAME) as acquired:
            if not acquired:
                self.stderr.write("export_legacy: another export is running; skipped")
                return
            try:
                written = export_legacy(data_dir, account)
            except OSError as exc:
                raise CommandError(f"{data_dir}: {exc.strerror or exc}") from None
        self.stdout.write(f"wrote {', '.join(written)}" if written else "unchanged")
