"""Registrations per second at 0, 5,000 and 50,000 existing orders.

Three ways to register an order, each measured in this run at the same N:

- `manager`: `OrderStateManager.register_sell_order` (validation, then the
  order and its audit event inserted in one transaction), the real path;
- `ORM`: a minimal Django create of the order and its event in one transaction,
  the yardstick for what the database and Django cost by themselves;
- `old JSON`: the store the bot had, `pending_orders.json`, read whole, the
  order appended, and written back whole on every registration.

Runs on a throwaway SQLite file, and also on PostgreSQL when BENCH_DATABASE_URL
names a server (a database `orderstate_bench_<pid>` is created there and dropped).
Each engine runs in its own child process, since settings are read at import.

    SECRET_KEY=bench DEBUG=false .venv/bin/python tests/bench/bench_registration.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ... (same command)
    ... bench_registration.py --profile   # where the manager's time goes, on SQLite
"""

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import child_result, scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

SIZES = (0, 5_000, 50_000)
# Each figure: this many registrations, or fewer once TIME_BUDGET seconds have passed.
OPERATIONS = int(os.environ.get("BENCH_OPERATIONS", "400"))
TIME_BUDGET = float(os.environ.get("BENCH_TIME_BUDGET", "4"))
MIN_OPERATIONS = 2
ROUNDS = 4
WARM_UP = 20


# The old store -----------------------------------------------------------


def legacy_order(number):
    return {
        "order_id": f"2406{number:011d}",
        "symbol": f"SYM{number}-EQ",
        "ticker": f"SYM{number}.NS",
        "side": "SELL",
        "qty": 10,
        "order_type": "LIMIT",
        "variety": "REGULAR",
        "price": 2500.05,
        "placed_at": "2024-06-01T10:15:00.123456",
        "last_status_check": None,
        "status": "PENDING",
        "rejection_reason": None,
        "check_count": 0,
        "executed_qty": 0,
        "rsi10": 28.4,
        "ema9": 2490.1,
    }


def old_store_registrar(path, existing):
    """The bot's tracker: load the file, refuse a known id, append, rewrite it whole."""
    path.write_text(json.dumps({"orders": [legacy_order(n) for n in range(existing)]}, indent=2))
    added = iter(range(existing, sys.maxsize))

    def make(tag):
        def register(i):
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
            order = legacy_order(next(added))
            if any(o["order_id"] == order["order_id"] for o in data["orders"]):
                raise ValueError(f"order {order['order_id']} exists")
            data["orders"].append(order)
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, default=str)

        return register

    return make


# One engine, in a child process --------------------------------------------


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed_to(count):
    """Top the order table up to `count` rows of history (and their events)."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from orderstate.models import EventKind, EventSource, Order, OrderEvent

    missing = count - Order.objects.count()
    now = timezone.now()
    start = Order.objects.count()
    for offset in range(0, max(missing, 0), 5_000):
        batch = range(start + offset, start + min(offset + 5_000, missing))
        with transaction.atomic():
            orders = Order.objects.bulk_create(
                Order(
                    broker_order_id=f"SEED-{n}",
                    symbol=f"SEED{n}-EQ",
                    base_symbol=f"SEED{n}",
                    side="SELL" if n % 2 else "BUY",
                    quantity=10,
                    price=Decimal("100.00"),
                    filled_quantity=10,
                    average_price=Decimal("100.00"),
                    status="EXECUTED",
                    closed_at=now,
                )
                for n in batch
            )
            OrderEvent.objects.bulk_create(
                OrderEvent(order=o, kind=EventKind.REGISTERED, source=EventSource.BOT)
                for o in orders
            )


def manager_registrar(tag):
    from orderstate.manager import OrderStateManager

    manager = OrderStateManager()

    def register(i):
        manager.register_sell_order(f"M{tag}X{i}-EQ", f"M-{tag}-{i}", "2500.05", 10, rsi10=28.4)

    return register


def orm_registrar(tag):
    from decimal import Decimal

    from django.db import transaction

    from orderstate.models import EventKind, Order, OrderEvent

    def register(i):
        with transaction.atomic():
            order = Order.objects.create(
                broker_order_id=f"O-{tag}-{i}",
                symbol=f"O{tag}X{i}-EQ",
                base_symbol=f"O{tag}X{i}",
                side="SELL",
                quantity=10,
                price=Decimal("2500.05"),
                metadata={"rsi10": 28.4},
            )
            OrderEvent.objects.create(
                order=order, kind=EventKind.REGISTERED, to_status="PENDING", source="bot"
            )

    return register


def interleaved(registrars, tag):
    """Rates of several registrars, run in alternating rounds after a warm-up.

    Alternating spreads any background load on the machine over all of them
    alike, so their ratio holds even when the absolute figures wobble.
    """
    for make in registrars.values():
        register = make(f"{tag}W")
        start = time.perf_counter()
        for i in range(WARM_UP):
            register(i)
            if time.perf_counter() - start > 1:
                break
    elapsed = dict.fromkeys(registrars, 0.0)
    done = dict.fromkeys(registrars, 0)
    for round_number in range(ROUNDS):
        for name, make in registrars.items():
            register = make(f"{tag}R{round_number}")
            start = time.perf_counter()
            count = 0
            while count < OPERATIONS // ROUNDS:
                register(count)
                count += 1
                if count >= MIN_OPERATIONS and time.perf_counter() - start > TIME_BUDGET / ROUNDS:
                    break
            elapsed[name] += time.perf_counter() - start
            done[name] += count
    return {name: done[name] / elapsed[name] for name in registrars}


def queries_per_registration(make):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    register = make("Q")
    with CaptureQueriesContext(connection) as queries:
        register(0)
    return len(queries)


def run_engine(database_url):
    setup_django(database_url)
    from django.db import connection

    registrars = {"manager": manager_registrar, "orm": orm_registrar}
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench_old_store_") as directory:
        for size in SIZES:
            seed_to(size)
            old = old_store_registrar(Path(directory) / "pending_orders.json", size)
            figures.append({"n": size, **interleaved({**registrars, "old": old}, size)})
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "figures": figures,
                "queries": {
                    name: queries_per_registration(make) for name, make in registrars.items()
                },
            }
        )
    )


def profile_manager(database_url):
    import cProfile
    import pstats

    setup_django(database_url)
    seed_to(5_000)
    profiler = cProfile.Profile()
    register = manager_registrar("P")
    profiler.runcall(lambda: [register(i) for i in range(OPERATIONS)])
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


# The parent: engines, the old store, the table ----------------------------------------


def main():
    with tempfile.TemporaryDirectory(prefix="bench_registration_") as directory:
        if "--profile" in sys.argv:
            profile_manager(f"sqlite:///{directory}/profile.sqlite3")
            return
        engines = [child_result(__file__, f"sqlite:///{directory}/bench.sqlite3")]
        server = os.environ.get("BENCH_DATABASE_URL")
        if server:
            with scratch_postgres(server, f"registration_{os.getpid()}") as url:
                engines.append(child_result(__file__, url))
    print_table(engines)


def cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def print_table(engines):
    print(
        f"Registrations per second ({cpu_name()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()})"
    )
    header = (
        f"{'engine':<10} {'orders':>7} {'manager/s':>10} {'ORM/s':>8} {'old JSON/s':>11} "
        f"{'mgr/old':>9} {'mgr/ORM':>8}"
    )
    print(header)
    print("-" * len(header))
    for engine in engines:
        for row in engine["figures"]:
            legacy = row["old"]
            print(
                f"{engine['vendor']:<10} {row['n']:>7,} {row['manager']:>10.0f} "
                f"{row['orm']:>8.0f} {legacy:>11.1f} {row['manager'] / legacy:>8.0f}x "
                f"{row['manager'] / row['orm']:>7.2f}x"
            )
            baseline = f"{legacy:.1f}/s old JSON, {row['orm']:.0f}/s ORM"
            record(
                f"registrations {engine['vendor']} at {row['n']:,}", row["manager"], "/s", baseline
            )
            target = ">= 50x" if row["n"] == 5_000 else None
            record(
                f"manager / old store, {engine['vendor']} at {row['n']:,}",
                row["manager"] / legacy,
                "x",
                None,
                target,
            )
        queries = engine["queries"]
        print(
            f"{engine['vendor']}: queries per registration: manager {queries['manager']}, "
            f"ORM {queries['orm']}"
        )
        first, last = engine["figures"][0], engine["figures"][-1]
        flat = (last["manager"] / last["orm"]) / (first["manager"] / first["orm"])
        record(
            f"registration cost flat in N, {engine['vendor']} (1 = flat)",
            flat,
            "x",
            "ORM beside it",
            ">= 0.8",
        )
        print(
            f"{engine['vendor']}: manager at {SIZES[-1]:,} orders runs at "
            f"{last['manager'] / first['manager']:.2f}x its rate at {SIZES[0]:,}, and "
            f"{(last['manager'] / last['orm']) / (first['manager'] / first['orm']):.2f}x "
            "relative to the ORM yardstick beside it (1.00 = flat in N)"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--engine":
        run_engine(sys.argv[2])
    else:
        main()
