"""Writing the old bot's three JSON files from the database, so old scripts keep working.

Each file is replaced atomically: written to a temporary file in the same
directory, flushed to disk, renamed over the old one, and the directory entry
flushed too, so a reader sees the old file or the new one, never half of one.
"""

import json
import os
import tempfile
from pathlib import Path

from django.db.models import Max

from orderstate.legacy import shapes
from orderstate.legacy.reader import ACTIVE_FILE, HISTORY_FILE, PENDING_FILE
from orderstate.market import legacy_time
from orderstate.models import FailedOrder, Order, Trade


def legacy_documents(account):
    """The three files' contents, keyed by file name."""
    orders = Order.objects.for_account(account).order_by("placed_at", "id")
    history = shapes.trade_history(account)
    history["last_run"] = legacy_time(_last_change(account))
    return {
        PENDING_FILE: {"orders": [shapes.pending_order(order) for order in orders]},
        HISTORY_FILE: history,
        ACTIVE_FILE: shapes.active_sell_orders(account),
    }


def _last_change(account):
    """The newest change, so an unchanged database writes byte-identical files."""
    moments = [
        model.objects.filter(account=account).aggregate(at=Max("updated_at"))["at"]
        for model in (Order, Trade, FailedOrder)
    ]
    return max((moment for moment in moments if moment), default=None)


def render(document):
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_atomically(path, text):
    """Replace `path` with `text`; False when the file already holds exactly that."""
    path = Path(path)
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return True


def export_legacy(data_dir, account):
    """Write the three files into `data_dir`; returns the names that changed."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        name
        for name, document in legacy_documents(account).items()
        if write_atomically(data_dir / name, render(document))
    ]
