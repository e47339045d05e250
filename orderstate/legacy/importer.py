"""Writing what `legacy.reader.read_legacy` read, through the actions, in one transaction.

Either every importable record goes in or nothing does. Records already in the
database are counted as present; ones that differ are reported, never
overwritten, so re-running an import is safe.
"""

import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from orderstate.actions import imports
from orderstate.actions.base import Context
from orderstate.errors import OrderStateError
from orderstate.legacy.reader import ACTIVE_FILE, HISTORY_FILE, PENDING_FILE
from orderstate.legacy.records import Note, Rejection
from orderstate.models import EventSource, FailedOrder, Order, Trade
from orderstate.validation import parse_symbol

KINDS = {
    PENDING_FILE: "orders",
    HISTORY_FILE + " trades": "trades",
    HISTORY_FILE + " failed_orders": "failed_orders",
    ACTIVE_FILE: "active_sell_orders",
}
PROGRESS_MINIMUM = 200
CHUNK = 500  # ids per IN (...) query, below SQLite's variable limit


class ImportAborted(Exception):
    """`--strict` found records it cannot import; the report says which."""

    def __init__(self, report):
        super().__init__(f"{len(report.rejections) + len(report.changed)} record(s) not importable")
        self.report = report


@dataclass
class ImportReport:
    read: Counter
    sides: Counter
    notes: list
    rejections: list
    imported: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)
    changed: list = field(default_factory=list)

    def skipped(self):
        counts = Counter(KINDS.get(rejection.file, rejection.file) for rejection in self.rejections)
        counts.update(KINDS.get(change.file, change.file) for change in self.changed)
        return counts


class Progress:
    """A counter on one terminal line; silent when the stream is not a terminal."""

    def __init__(self, label, total, stream=None):
        self.stream = stream or sys.stderr
        self.label = label
        self.total = total
        self.count = 0
        self.shown_at = 0.0
        self.enabled = total >= PROGRESS_MINIMUM and self.stream.isatty()

    def step(self):
        self.count += 1
        now = time.monotonic()
        if self.enabled and (now - self.shown_at > 0.1 or self.count == self.total):
            self.shown_at = now
            width = 30
            done = width * self.count // self.total
            bar = "#" * done + "-" * (width - done)
            self.stream.write(f"\r{self.label:<14} [{bar}] {self.count}/{self.total}")
            if self.count == self.total:
                self.stream.write("\n")
            self.stream.flush()


def import_legacy(data, *, account, dry_run=False, strict=False, stream=None):
    """Import `data` (a LegacyData); dry runs and strict aborts roll everything back."""
    report = ImportReport(
        read=data.read, sides=data.sides, notes=data.notes, rejections=list(data.rejections)
    )
    report.present["active_sell_orders"] = data.snapshot_merged
    ctx = Context.of(EventSource.IMPORT, account=account)
    with imports.importing():
        _import_orders(ctx, data.orders, report, Progress("orders", len(data.orders), stream))
        _import_trades(ctx, data.trades, report, Progress("trades", len(data.trades), stream))
        _import_failed(
            ctx, data.failed, report, Progress("failed orders", len(data.failed), stream)
        )
        if strict and (report.rejections or report.changed):
            raise ImportAborted(report)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _differences(existing, wanted):
    return [
        f"{name} {getattr(existing, name)} here, {value} in the file"
        for name, value in wanted.items()
        if getattr(existing, name) != value
    ]


def _record(report, kind, record, existing, wanted, write):
    """Count a record as present, changed or imported; a refusal becomes a rejection."""
    if existing is not None:
        differences = _differences(existing, wanted)
        if differences:
            report.changed.append(Note(record.file, record.index, "; ".join(differences)))
        else:
            report.present[kind] += 1
        return
    try:
        write()
    except OrderStateError as exc:
        report.rejections.append(Rejection(record.file, record.index, exc.detail))
        return
    report.imported[kind] += 1


def _existing_orders(account, order_ids):
    """Orders already here, by broker id: one query per chunk instead of one per record."""
    found = {}
    for start in range(0, len(order_ids), CHUNK):
        chunk = order_ids[start : start + CHUNK]
        for order in Order.objects.filter(account=account, broker_order_id__in=chunk):
            found[order.broker_order_id] = order
    return found


def _import_orders(ctx, orders, report, progress):
    present = _existing_orders(ctx.account, [record.order_id for record in orders])
    for record in orders:
        existing = present.get(record.order_id)
        wanted = {
            "side": record.side,
            "base_symbol": record.base_symbol,
            "quantity": record.quantity,
            "price": record.price,
            "status": record.status,
            "filled_quantity": record.filled_quantity,
        }
        kind = KINDS[record.file]

        def write(record=record):
            imports.import_order(
                ctx,
                record.symbol,
                record.order_id,
                side=record.side,
                qty=record.quantity,
                status=record.status,
                placed_at=record.placed_at,
                price=record.price,
                ticker=record.ticker,
                order_type=record.order_type,
                variety=record.variety,
                filled_qty=record.filled_quantity,
                average_price=record.execution_price,
                last_synced_at=record.last_synced_at,
                status_reason=record.status_reason,
                metadata=record.metadata,
                side_reason=record.side_reason,
            )

        _record(report, kind, record, existing, wanted, write)
        progress.step()


def _import_trades(ctx, trades, report, progress):
    present = {}
    for trade in Trade.objects.filter(account=ctx.account).order_by("-id"):
        present[(trade.symbol, trade.entry_time)] = trade
    for record in trades:
        existing = present.get((record.symbol, record.entry_time))
        wanted = {
            "status": record.status,
            "quantity": record.quantity,
            "entry_price": record.entry_price,
            "exit_price": record.exit_price,
            "realised_pnl": record.realised_pnl,
        }

        def write(record=record):
            imports.import_trade(
                ctx,
                record.symbol,
                qty=record.quantity,
                entry_price=record.entry_price,
                entry_time=record.entry_time,
                status=record.status,
                ticker=record.ticker,
                exit_price=record.exit_price,
                exit_time=record.exit_time,
                exit_reason=record.exit_reason,
                realised_pnl=record.realised_pnl,
                entry_order_id=record.entry_order_id,
                exit_order_id=record.exit_order_id,
                metadata=record.metadata,
            )

        _record(report, "trades", record, existing, wanted, write)
        progress.step()


def _import_failed(ctx, failed, report, progress):
    present = {}
    for entry in FailedOrder.objects.filter(account=ctx.account).order_by("-id"):
        present[(entry.symbol, entry.first_failed_at)] = entry
    for record in failed:
        existing = present.get((parse_symbol(record.symbol)[1], record.first_failed_at))
        wanted = {
            "quantity": record.quantity,
            "retry_count": record.retry_count,
            "status": record.status,
        }

        def write(record=record):
            imports.import_failed_order(
                ctx,
                record.symbol,
                qty=record.quantity,
                first_failed_at=record.first_failed_at,
                ticker=record.ticker,
                close=record.close,
                reason=record.reason,
                retry_count=record.retry_count,
                last_retry_at=record.last_retry_at,
                status=record.status,
                metadata=record.metadata,
            )

        _record(report, "failed_orders", record, existing, wanted, write)
        progress.step()
