"""Reading the old bot's three JSON files into records ready for import; nothing here writes.

`read_legacy()` turns `pending_orders.json`, `trades_history.json` and an
optional `active_sell_orders.json` into plain records for the manager's
import verbs (parsed one by one in `orderstate.legacy.records`), plus the
records that cannot be imported (file, index, reason) and notes on what was
inferred or normalised: sides, merged re-entries, the snapshot's prices.
`orderstate.legacy.importer` writes the records; `orderstate.legacy.exporter`
writes the files back.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from orderstate.legacy import merge
from orderstate.legacy.records import (
    ACTIVE_FILE,
    HISTORY_FILE,
    PENDING_FILE,
    Note,
    RecordError,
    Rejection,
    parse_active,
    parse_failed,
    parse_order,
    parse_trade,
)


class LegacyFileError(Exception):
    """A file that cannot be read at all (truncated, not JSON, wrong shape)."""


@dataclass
class LegacyData:
    orders: list = field(default_factory=list)
    trades: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    rejections: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    read: Counter = field(default_factory=Counter)
    sides: Counter = field(default_factory=Counter)
    snapshot_merged: int = 0

    def reject(self, file, index, reason):
        self.rejections.append(Rejection(file, index, reason))

    def note(self, file, index, message):
        self.notes.append(Note(file, index, message))


# Files -------------------------------------------------------------------------


def load_json(path, notes):
    """The parsed file; a bad byte is replaced (with a note), bad JSON is an error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LegacyFileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8-sig", errors="replace")
        notes.append(
            Note(
                path.name,
                None,
                f"byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8; "
                "read with U+FFFD in its place",
            )
        )
    if not text.strip():
        raise LegacyFileError(f"{path}: file is empty")
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        hint = " (the file looks truncated)" if exc.pos >= len(text.rstrip()) - 1 else ""
        raise LegacyFileError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}"
        ) from None


def _as_list(value, path, key):
    if value is None:
        return []
    if not isinstance(value, list):
        raise LegacyFileError(f"{path}: {key!r} must be a list, not {type(value).__name__}")
    return value


# The three files together -----------------------------------------------------------


def read_legacy(pending_path=None, history_path=None, active_path=None):
    """Every importable record of the files, the rejected ones and what was inferred."""
    data = LegacyData()
    pending = _load(pending_path, data, dict | list)
    history = _load(history_path, data, dict)
    active = _load(active_path, data, dict)
    for path, document, known in (
        (pending_path, pending, {"orders"}),
        (history_path, history, {"trades", "failed_orders", "last_run"}),
    ):
        for key in sorted(set(document or {}) - known if isinstance(document, dict) else ()):
            data.note(Path(path).name, None, f"top-level key {key!r} is not imported")
    raw_orders = pending if isinstance(pending, list) else (pending or {}).get("orders")
    raw_orders = _as_list(raw_orders, pending_path, "orders")
    raw_trades = _as_list((history or {}).get("trades"), history_path, "trades")
    raw_failed = _as_list((history or {}).get("failed_orders"), history_path, "failed_orders")
    data.read.update(
        {
            "orders": len(raw_orders),
            "trades": len(raw_trades),
            "failed_orders": len(raw_failed),
            "active_sell_orders": len(active or {}),
        }
    )
    trades = _parse_all(data, raw_trades, HISTORY_FILE + " trades", parse_trade)
    failed = _parse_all(data, raw_failed, HISTORY_FILE + " failed_orders", parse_failed)
    orders = _parse_all(data, raw_orders, PENDING_FILE, parse_order)
    snapshot = []
    for key, record in (active or {}).items():
        parsed = _parse_one(data, ACTIVE_FILE, key, parse_active, record)
        if parsed is not None:
            snapshot.append(parsed)
    orders = merge.unique_orders(data, orders, raw_orders)
    trades = merge.unique_trades(data, trades)
    trades = merge.exit_times(data, trades, orders)
    orders = merge.merge_snapshot(data, orders, snapshot, trades)
    orders = merge.infer_sides(data, orders, trades, snapshot)
    data.orders = merge.one_active_sell_per_symbol(data, orders, snapshot)
    data.trades = merge.merge_open_entries(data, trades)
    merge.set_average_prices(data.orders, data.trades)
    data.failed = merge.one_waiting_per_symbol(data, failed)
    return data


def _load(path, data, kind):
    if path is None:
        return None
    parsed = load_json(path, data.notes)
    if not isinstance(parsed, kind):
        raise LegacyFileError(f"{path}: unexpected top-level {type(parsed).__name__}")
    return parsed


def _parse_one(data, file, index, parse, record):
    try:
        parsed, notes = parse(record, file, index)
    except RecordError as exc:
        data.reject(file, index, str(exc))
        return None
    for message in notes:
        data.note(file, index, message)
    return parsed


def _parse_all(data, records, file, parse):
    parsed = (_parse_one(data, file, index, parse, record) for index, record in enumerate(records))
    return [record for record in parsed if record is not None]
