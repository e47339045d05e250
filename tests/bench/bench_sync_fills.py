"""Benchmark of a sync that reads the trade book and checks positions: 10,000 buy orders
executed, beside the same sync from the order book's cumulative figures alone.

Run: `make bench`, or `SECRET_KEY=x python tests/bench/bench_sync_fills.py`. Uses a
throwaway SQLite file; with BENCH_DATABASE_URL=postgres://... also a scratch
PostgreSQL database beside it (BENCH_DATABASE_PREFIX keeps parallel runs apart).

Prints, each next to its baseline measured in the same run:
- a sync where every order executed, from the order book alone (the baseline), and
  with a trade book of one fill per order plus the positions check;
- the trade book arriving one sync later: every order's estimated lot corrected
  (one replay through the ledger per order; 2,000 orders, BENCH_FILLS_LATE_ORDERS);
- a sync where nothing changed, with the trade book and holdings read again, beside
  the same sync from the order book alone;
- the positions check alone (10,000 symbols against 10,000 holdings).
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import run_child, scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

ORDERS = int(os.environ.get("BENCH_SYNC_ORDERS", "10000"))
# The trade book a sync late replays the ledger once per order: fewer orders keep it short.
LATE_ORDERS = min(ORDERS, int(os.environ.get("BENCH_FILLS_LATE_ORDERS", "2000")))
DAY = "24-Jul-2026"


def main():
    if os.environ.get("BENCH_CHILD"):
        run_here()
        return
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        run_child(__file__, f"sqlite:///{Path(scratch) / 'bench_fills.sqlite3'}", "SQLite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"], "sync_fills") as url:
            run_child(__file__, url, "PostgreSQL")


class Session:
    """A broker that serves parsed Kotak bodies: the order book, and if given the trade
    book and holdings."""

    name = "bench"

    def __init__(self, orders, trades=None, holdings=None):
        from orderstate.brokers.kotak_positions import parse_holdings
        from orderstate.brokers.kotak_report import parse_order_report
        from orderstate.brokers.kotak_trades import parse_trade_report

        self.orders = parse_order_report(orders)
        self.trades = parse_trade_report(trades) if trades is not None else None
        self.holdings = parse_holdings(None, holdings) if holdings is not None else None

    def fetch_order_book(self):
        return self.orders

    def fetch_trade_book(self):
        from orderstate.brokers.base import BrokerUnavailable

        if self.trades is None:
            raise BrokerUnavailable("no trade book in this session")
        return self.trades

    def fetch_holdings(self):
        from orderstate.brokers.base import BrokerUnavailable

        if self.holdings is None:
            raise BrokerUnavailable("no holdings in this session")
        return self.holdings


def reset(count):
    """`count` OPEN buy orders of 10 shares, one symbol each, bulk-inserted."""
    from django.utils import timezone

    from orderstate.models import Fill, Lot, LotMatch, Order, OrderEvent, Position, SyncRun, Trade

    for model in (LotMatch, Lot, Fill, OrderEvent, Position, Order, Trade, SyncRun):
        model.objects.all().delete()
    now = timezone.now()
    Order.objects.bulk_create(
        (
            Order(
                broker_order_id=f"B{i}",
                symbol=f"S{i}-EQ",
                base_symbol=f"S{i}",
                side="BUY",
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


def orders(count):
    rows = [
        {
            "nOrdNo": f"B{i}",
            "trdSym": f"S{i}-EQ",
            "trnsTp": "B",
            "ordSt": "complete",
            "qty": 10,
            "fldQty": 10,
            "prc": "110.00",
            "avgPrc": "106.00",
            "exSeg": "nse_cm",
            "ordDtTm": f"{DAY} 09:15:00",
        }
        for i in range(count)
    ]
    return {"stat": "Ok", "stCode": 200, "data": rows}


def trades(count):
    rows = []
    for i in range(count):
        for leg, (qty, price, second) in enumerate(((4, "100.00", "10"), (6, "110.00", "20"))):
            rows.append(
                {
                    "nOrdNo": f"B{i}",
                    "flId": f"F{i}-{leg}",
                    "fldQty": qty,
                    "avgPrc": price,
                    "flDt": DAY,
                    "flTm": f"09:20:{second}",
                    "trdSym": f"S{i}-EQ",
                    "trnsTp": "B",
                    "exSeg": "nse_cm",
                }
            )
    return {"stat": "ok", "stCode": 200, "data": rows}


def holdings(count):
    rows = [
        {"symbol": f"S{i}", "quantity": 10, "averagePrice": 106.0, "exchangeSegment": "nse_cm"}
        for i in range(count)
    ]
    return {"data": rows}


def timed(broker):
    from orderstate.sync import run_sync

    started = time.perf_counter()
    run = run_sync(broker=broker)
    return time.perf_counter() - started, run


def run_here():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from orderstate.checks.positions import compare_positions
    from orderstate.models import Lot, LotSource

    call_command("migrate", verbosity=0)
    label = os.environ.get("BENCH_LABEL", "database")
    print(f"== bench_sync_fills on {label}: {ORDERS} buy orders, one symbol each")
    book, fills, held = orders(ORDERS), trades(ORDERS), holdings(ORDERS)

    reset(ORDERS)
    baseline, run = timed(Session(book))
    assert run.stats["executed"] == ORDERS and run.stats["errors"] == 0, run.stats
    print(f"sync, every order executed, order book only (baseline) {baseline:8.3f} s")

    reset(ORDERS)
    exact, run = timed(Session(book, fills, held))
    assert run.stats["exact_fills"] == ORDERS and run.stats["errors"] == 0, run.stats
    assert run.stats["position_mismatches"] == [], run.stats["position_mismatches"][:3]
    assert Lot.objects.filter(source=LotSource.TRADE_BOOK).count() == 2 * ORDERS
    print(
        f"sync, every order executed, trade book + positions check {exact:8.3f} s"
        f"  ({exact / baseline:.2f}x the baseline)"
    )

    again, run = timed(Session(book, fills, held))
    assert run.stats["exact_fills"] == 0 and run.stats["errors"] == 0, run.stats
    unchanged, _ = timed(Session(book))
    print(
        f"sync, nothing changed, trade book + holdings read again {again:8.3f} s"
        f"  (order book only: {unchanged:.3f} s)"
    )

    reset(LATE_ORDERS)
    no_data = {"stat": "Not_Ok", "stCode": 5203, "errMsg": "No Data"}
    late_book, late_fills = orders(LATE_ORDERS), trades(LATE_ORDERS)
    late_held = holdings(LATE_ORDERS)
    before, _ = timed(Session(late_book, no_data, late_held))
    late, run = timed(Session(late_book, late_fills, late_held))
    assert run.stats["exact_fills"] == LATE_ORDERS and run.stats["errors"] == 0, run.stats
    assert not Lot.objects.filter(source=LotSource.FILL).exists()
    print(
        f"sync, trade book one sync late: {LATE_ORDERS} orders corrected {late:8.3f} s"
        f"  ({LATE_ORDERS / late:,.0f} orders/s; their first sync {before:.3f} s)"
    )

    parsed = Session(book, holdings=held).holdings
    started = time.perf_counter()
    stats = compare_positions("default", parsed)
    check = time.perf_counter() - started
    assert stats["positions_checked"] == ORDERS and not stats["position_mismatches"]
    print(f"positions check alone, {ORDERS} symbols                  {check:8.3f} s")

    base = f"{baseline:.2f} s order book only"
    record(f"sync {ORDERS:,} executed + trade book + positions, {label}", exact, "s", base, "< 20")
    plain = f"{unchanged:.2f} s order book only"
    record(f"sync {ORDERS:,} unchanged + trade book + holdings, {label}", again, "s", plain, "< 2")
    record(
        f"sync {LATE_ORDERS:,} fills corrected a sync late, {label}",
        late,
        "s",
        f"{before:.2f} s their first sync",
        None,
    )
    record(f"positions check {ORDERS:,} symbols, {label}", check, "s", None, "< 1")


if __name__ == "__main__":
    main()
