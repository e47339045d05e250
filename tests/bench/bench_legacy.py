"""Legacy import and export speed, next to yardsticks measured in the same run.

- `import`: `import_legacy` of a generated history (orders, trades, failed orders,
  a snapshot), records per second, all in one transaction as the command does;
- `ORM`: a minimal Django create of each order and its event in one transaction,
  what the database and Django cost by themselves for the same number of orders;
- `export`: `export_legacy` of the imported state, next to `json.load` + `json.dump`
  of the same files (what the old bot paid to read and rewrite its state once).

Runs on a throwaway SQLite file.

    SECRET_KEY=bench DEBUG=false .venv/bin/python tests/bench/bench_legacy.py
"""

import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.results import record  # noqa: E402

ORDERS = int(os.environ.get("BENCH_LEGACY_ORDERS", "4000"))


def history(count):
    """`count` buys and sells over `count // 2` symbols: half closed, the rest protected."""
    orders, trades, active = [], [], {}
    for n in range(count // 2):
        symbol = f"SYM{n}"
        buy, sell = f"25{n:010d}", f"26{n:010d}"
        closed = n % 2 == 0
        day = f"2026-10-{1 + n % 27:02d}"
        common = {"symbol": f"{symbol}-EQ", "ticker": f"{symbol}.NS", "qty": 10,
                  "rejection_reason": None, "check_count": 3}  # fmt: skip
        orders.append({**common, "order_id": buy, "order_type": "MARKET", "variety": "AMO",
                       "price": None, "placed_at": f"{day}T16:00:00", "status": "EXECUTED",
                       "last_status_check": f"{day}T16:05:00", "executed_qty": 10})  # fmt: skip
        orders.append({**common, "order_id": sell, "order_type": "LIMIT", "variety": "REGULAR",
                       "price": 105.5, "placed_at": f"{day}T16:10:00",
                       "status": "EXECUTED" if closed else "OPEN",
                       "last_status_check": f"{day}T16:20:00",
                       "executed_qty": 10 if closed else 0})  # fmt: skip
        trade = {"symbol": symbol, "placed_symbol": f"{symbol}-EQ", "ticker": f"{symbol}.NS",
                 "entry_price": 100.25, "entry_time": f"{day}T16:05:00", "qty": 10,
                 "status": "closed" if closed else "open", "order_id": buy, "rsi10": 28.4,
                 "ema9": 104.1, "capital": 1002.5}  # fmt: skip
        if closed:
            trade.update(exit_price=105.5, exit_time=f"{day}T16:20:00", sell_order_id=sell,
                         exit_reason="EMA9 target", pnl=52.5, pnl_pct=5.24)  # fmt: skip
        else:
            active[symbol] = {"order_id": sell, "target_price": 105.5, "qty": 10,
                              "symbol": f"{symbol}-EQ", "ticker": f"{symbol}.NS"}  # fmt: skip
        trades.append(trade)
    return {
        "pending_orders.json": {"orders": orders},
        "trades_history.json": {"trades": trades, "failed_orders": [], "last_run": None},
        "active_sell_orders.json": active,
    }


def setup(workdir):
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def orm_baseline(documents):
    from django.db import transaction
    from django.utils import timezone

    from orderstate.models import Order, OrderEvent

    started = time.perf_counter()
    with transaction.atomic():
        for record in documents["pending_orders.json"]["orders"]:
            order = Order.objects.create(
                account="orm-baseline", broker_order_id=record["order_id"],
                symbol=record["symbol"], base_symbol=record["symbol"][:-3], side="BUY",
                quantity=record["qty"], placed_at=timezone.now(),
            )  # fmt: skip
            OrderEvent.objects.create(order=order, kind="registered", source="import")
        transaction.set_rollback(True)
    return time.perf_counter() - started


def main():
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        setup(workdir)
        from django.core.management import call_command

        documents = history(ORDERS)
        source = workdir / "old"
        source.mkdir()
        for name, document in documents.items():
            (source / name).write_text(json.dumps(document, indent=2))
        records = sum(len(v) for v in (documents["pending_orders.json"]["orders"],
                                       documents["trades_history.json"]["trades"]))  # fmt: skip

        baseline = orm_baseline(documents)
        started = time.perf_counter()
        call_command("import_legacy", data_dir=source, stdout=io.StringIO())
        imported = time.perf_counter() - started

        started = time.perf_counter()
        for name in documents:
            data = json.loads((source / name).read_text())
            (workdir / f"copy-{name}").write_text(json.dumps(data, indent=2))
        json_round = time.perf_counter() - started
        started = time.perf_counter()
        call_command("export_legacy", data_dir=workdir / "exported", stdout=io.StringIO())
        exported = time.perf_counter() - started

    orders = ORDERS
    print(f"legacy import/export, SQLite, {orders} orders + {orders // 2} trades")
    print(f"  import_legacy        {records / imported:8.0f} records/s  ({imported:.2f} s)")
    print(f"  ORM create baseline  {orders / baseline:8.0f} orders/s   ({baseline:.2f} s)")
    print(f"  export_legacy        {exported:8.2f} s")
    print(f"  json load+dump       {json_round:8.2f} s  (the old bot's one read and rewrite)")
    record(
        "import_legacy", records / imported, "records/s", f"{orders / baseline:.0f}/s ORM create"
    )


if __name__ == "__main__":
    main()
