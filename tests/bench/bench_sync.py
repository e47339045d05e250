"""Benchmark of one broker sync: 10,000 active orders against a 10,000-order book.

Run: `make bench`, or `SECRET_KEY=x python tests/bench/bench_sync.py`. Uses a
throwaway SQLite file; with BENCH_DATABASE_URL=postgres://... it also runs on a
scratch database it creates next to that one (and drops afterwards).

Prints, next to yardsticks measured in the same run (loading the same rows and
stamping them all with one bulk UPDATE; the least an order change can cost:
lock, save and one event in a transaction):
- seconds for a sync where nothing changed (target < 1 s on SQLite), and of
  that the consistency check (`check_state`) each sync ends with,
- seconds for a sync where every order executed (target < 20 s),
- queries per changed order, and the queries of the unchanged sync.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import run_child, scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

ORDERS = int(os.environ.get("BENCH_SYNC_ORDERS", "10000"))
QUERY_SAMPLE = 200


def main():
    if os.environ.get("BENCH_CHILD"):
        run_here()
        return
    with tempfile.TemporaryDirectory() as scratch:
        run_child(__file__, f"sqlite:///{Path(scratch) / 'bench_sync.sqlite3'}", "SQLite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"]) as url:
            run_child(__file__, url, "PostgreSQL")


def run_here():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    bench = SyncBench()
    label = os.environ.get("BENCH_LABEL", "database")
    print(f"== bench_sync on {label}: {ORDERS} active orders, {ORDERS}-order book")
    yardstick = bench.yardstick()
    print(f"yardstick: load {ORDERS} orders and stamp them (one UPDATE) {yardstick:8.3f} s")
    unchanged, queries = bench.unchanged()
    print(
        f"sync, nothing changed                                {unchanged:8.3f} s"
        f"  ({queries} queries; target < 1 s on SQLite)"
    )
    seconds, queries = bench.state_check()
    print(
        f"  of which the state check after the run (check_state) {seconds:8.3f} s"
        f"  ({queries} queries)"
    )
    per_second = bench.minimal_changes()
    print(f"yardstick: minimal locked change + event, one transaction each {per_second:8,.0f} /s")
    seconds = bench.all_executed()
    print(
        f"sync, every order executed                           {seconds:8.3f} s"
        f"  ({ORDERS / seconds:,.0f} orders/s; target < 20 s)"
    )
    per_order = bench.queries_per_change()
    print(f"queries per changed order (executed, with its trade) {per_order:8.1f}")
    yardstick_text = f"{ORDERS / per_second:.1f} s minimal changes"
    record(f"sync {ORDERS:,} unchanged, {label}", unchanged, "s", f"{yardstick:.3f} s", "< 1")
    record(f"sync {ORDERS:,} all executed, {label}", seconds, "s", yardstick_text, "< 20")
    record(f"sync queries per changed order, {label}", per_order, "", None, None)


class SyncBench:
    def __init__(self):
        from orderstate.brokers.kotak_report import parse_order_report
        from orderstate.sync import run as sync

        self.sync = sync
        self.parse = parse_order_report

    def reset(self, count, prefix):
        """`count` OPEN sell orders, each with its open trade, as a bot would leave them.

        Rows are bulk-inserted: the benchmark measures the sync, not registration.
        """
        from django.utils import timezone

        from orderstate.models import Order, OrderEvent, SyncRun, Trade

        OrderEvent.objects.all().delete()
        Order.objects.all().delete()
        Trade.objects.all().delete()
        SyncRun.objects.all().delete()
        now = timezone.now()
        Trade.objects.bulk_create(
            Trade(symbol=f"S{prefix}{i}", quantity=10, entry_price="100", entry_time=now)
            for i in range(count)
        )
        Order.objects.bulk_create(
            (
                Order(
                    broker_order_id=f"{prefix}{i}",
                    symbol=f"S{prefix}{i}",
                    base_symbol=f"S{prefix}{i}",
                    side="SELL",
                    quantity=10,
                    price="110.00",
                    status="OPEN",
                    broker_status="open",
                    placed_at=now,
                    updated_at=now,
                )
                for i in range(count)
            ),
            batch_size=1000,
        )

    def book(self, count, prefix, status, filled):
        rows = [
            {
                "nOrdNo": f"{prefix}{i}",
                "trdSym": f"S{prefix}{i}",
                "trnsTp": "S",
                "ordSt": status,
                "qty": "10",
                "fldQty": str(filled),
                "prc": "110.00",
                "avgPrc": "110.00" if filled else "0.00",
                "ordDtTm": "21-Jun-2022 14:49:32",
            }
            for i in range(count)
        ]
        return self.sync.GivenBook({"stat": "Ok", "data": rows})

    def yardstick(self):
        from django.utils import timezone

        from orderstate.models import Order

        self.reset(ORDERS, "Y")
        started = time.perf_counter()
        orders = list(Order.objects.filter(status="OPEN"))
        Order.objects.filter(status="OPEN").update(last_synced_at=timezone.now())
        seconds = time.perf_counter() - started
        assert len(orders) == ORDERS
        return seconds

    def minimal_changes(self, count=1000):
        """Orders changed per second by the least a change can be: lock, save, one event."""
        from django.db import transaction

        from orderstate.models import Order, OrderEvent

        self.reset(count, "M")
        pks = list(Order.objects.values_list("pk", flat=True))
        started = time.perf_counter()
        for pk in pks:
            with transaction.atomic():
                order = Order.objects.select_for_update().get(pk=pk)
                order.status = "CANCELLED"
                order.save(update_fields=["status"])
                OrderEvent.objects.create(order=order, kind="cancelled", source="sync")
        return count / (time.perf_counter() - started)

    def unchanged(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.reset(ORDERS, "U")
        book = self.book(ORDERS, "U", "open", 0)
        started = time.perf_counter()
        run = self.sync.run_sync(broker=book)
        seconds = time.perf_counter() - started
        assert run.stats["checked"] == ORDERS and run.stats["errors"] == 0, run.stats
        with CaptureQueriesContext(connection) as queries:
            self.sync.run_sync(broker=book)
        return seconds, len(queries.captured_queries)

    def state_check(self):
        """The check_state pass every sync ends with, over the orders `unchanged` left."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            stats = self.sync.state_problem_stats()
        seconds = time.perf_counter() - started
        assert "state_problems" in stats, stats
        return seconds, len(queries.captured_queries)

    def all_executed(self):
        self.reset(ORDERS, "E")
        book = self.book(ORDERS, "E", "complete", 10)
        started = time.perf_counter()
        run = self.sync.run_sync(broker=book)
        seconds = time.perf_counter() - started
        assert run.stats["executed"] == ORDERS and run.stats["errors"] == 0, run.stats
        return seconds

    def queries_per_change(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.reset(QUERY_SAMPLE, "Q")
        book = self.book(QUERY_SAMPLE, "Q", "complete", 10)
        with CaptureQueriesContext(connection) as queries:
            run = self.sync.run_sync(broker=book)
        assert run.stats["executed"] == QUERY_SAMPLE, run.stats
        return len(queries.captured_queries) / QUERY_SAMPLE


if __name__ == "__main__":
    main()
