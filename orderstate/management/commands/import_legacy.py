from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orderstate.legacy.importer import KINDS, ImportAborted, import_legacy
from orderstate.legacy.reader import (
    ACTIVE_FILE,
    HISTORY_FILE,
    PENDING_FILE,
    LegacyFileError,
    read_legacy,
)


class Command(BaseCommand):
    help = (
        "Import the old bot's pending_orders.json, trades_history.json and "
        "active_sell_orders.json in one transaction (all valid records or nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", type=Path, help="directory holding the three files")
        parser.add_argument("--pending", type=Path, help=f"path of {PENDING_FILE}")
        parser.add_argument("--history", type=Path, help=f"path of {HISTORY_FILE}")
        parser.add_argument("--active", type=Path, help=f"path of {ACTIVE_FILE}")
        parser.add_argument("--account", default=settings.ORDERSTATE_DEFAULT_ACCOUNT)
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, change nothing"
        )
        parser.add_argument(
            "--strict", action="store_true", help="abort when any record cannot be imported"
        )

    def handle(self, *args, data_dir, pending, history, active, account, dry_run, strict, **_):
        if not account.strip() or len(account) > 64:
            raise CommandError("--account must be 1 to 64 characters")
        paths = {
            "pending": _path(pending, data_dir, PENDING_FILE),
            "history": _path(history, data_dir, HISTORY_FILE),
            "active": _path(active, data_dir, ACTIVE_FILE),
        }
        if not any(paths.values()):
            raise CommandError("no legacy file found; give --data-dir or file paths")
        try:
            data = read_legacy(paths["pending"], paths["history"], paths["active"])
        except LegacyFileError as exc:
            raise CommandError(str(exc)) from None
        if strict and any("not UTF-8" in note.message for note in data.notes):
            raise CommandError("a file is not valid UTF-8 (--strict); nothing imported")
        try:
            report = import_legacy(data, account=account, dry_run=dry_run, strict=strict)
        except ImportAborted as exc:
            self._print(exc.report)
            raise CommandError(f"--strict: {exc}; nothing imported") from None
        self._print(report)
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")

    def _print(self, report):
        write = self.stdout.write
        write(f"{'':<20}{'read':>8}{'imported':>10}{'present':>10}{'skipped':>10}")
        skipped = report.skipped()
        for kind in KINDS.values():
            write(
                f"{kind:<20}{report.read[kind]:>8}{report.imported[kind]:>10}"
                f"{report.present[kind]:>10}{skipped[kind]:>10}"
            )
        if report.sides:
            write("\nSides inferred:")
            for reason, count in sorted(report.sides.items()):
                write(f"  {count:>6}  {reason}")
        _list(write, "Skipped (file[index]: reason):", report.rejections, "reason")
        _list(write, "Changed since imported (not overwritten):", report.changed, "message")
        _list(write, "Notes:", report.notes, "message")


def _list(write, title, items, attribute):
    if not items:
        return
    write(f"\n{title}")
    for item in items:
        where = item.file if item.index is None else f"{item.file}[{item.index}]"
        write(f"  {where}: {getattr(item, attribute)}")


def _path(explicit, data_dir, name):
    """The explicit path (it must exist), else the file in --data-dir when present."""
    if explicit is not None:
        if not explicit.exists():
            raise CommandError(f"{explicit}: no such file")
        return explicit
    if data_dir is not None and (data_dir / name).exists():
        return data_dir / name
    return None
