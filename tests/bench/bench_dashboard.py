"""Server time and query count of the dashboard's pages with 100,000 orders.

Standalone: `python tests/bench/bench_dashboard.py` (run by `make bench`). Seeds a
throwaway SQLite file directly with bulk_create (a benchmark may bypass the
manager), then times each page through Django's test Client: the median of
several requests, next to a trivial logged-in page measured in the same run.
Targets: under 150 ms and at most 40 queries per page.
"""

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
WORKDIR = tempfile.mkdtemp(prefix="bench_dashboard_")
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR}/bench.sqlite3"
os.environ.setdefault("SECRET_KEY", "bench-only-secret")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from orderstate.models import (  # noqa: E402
    EventKind,
    EventSource,
    FailedOrder,
    Order,
    OrderEvent,
    Side,
    SyncOutcome,
    SyncRun,
    Trade,
    TradeStatus,
)
from orderstate.states import TERMINAL, Status  # noqa: E402
from tests.bench.results import record  # noqa: E402

ORDERS = 100_000
ACTIVE_SELLS = 300
ACTIVE_BUYS = 200
CLOSED_TRADES = 20_000
REPEATS = 15
BATCH = 5_000
PAGES = [
    ("baseline: logged-in form page", "/accounts/password_change/"),
    ("overview", "/"),
    ("orders, active tab", "/orders/"),
    ("orders, all, newest first", "/orders/?tab=all"),
    ("orders, executed, newest first", "/orders/?tab=executed"),
    ("orders, executed, by qty", "/orders/?tab=executed&sort=-qty"),
    ("orders, search TCS", "/orders/?tab=all&q=TCS"),
    ("orders, page 100", "/orders/?tab=all&page=100"),
    ("order detail", "/orders/B-001000/"),
    ("trades, closed", "/trades/?show=closed"),
    ("sync runs", "/sync/"),
    ("admin: orders", "/admin/orderstate/order/"),
    ("admin: executed orders", "/admin/orderstate/order/?status__exact=EXECUTED"),
]


def seed():
    rng = random.Random(7)
    now = timezone.now()
    year = 365 * 24 * 3600
    orders = []
    for number in range(ORDERS):
        active_sell = number < ACTIVE_SELLS
        active_buy = ACTIVE_SELLS <= number < ACTIVE_SELLS + ACTIVE_BUYS
        side = Side.SELL if active_sell or (not active_buy and number % 2) else Side.BUY
        symbol = f"SYM{number}" if active_sell else rng.choice(["TCS", "INFY", "SBIN", "ITC"])
        status = rng.choice([Status.EXECUTED] * 8 + [Status.CANCELLED, Status.REJECTED])
        if active_sell or active_buy:
            status = rng.choice([Status.PENDING, Status.OPEN, Status.PARTIALLY_FILLED])
        quantity = rng.randint(2, 500)
        filled = {Status.EXECUTED: quantity, Status.PARTIALLY_FILLED: quantity // 2}
        placed = now - timedelta(seconds=rng.randint(0, year))
        price = Decimal(rng.randint(10_000, 500_000)) / 100
        orders.append(
            Order(
                broker_order_id=f"{side[0]}-{number:06d}",
                symbol=f"{symbol}-EQ",
                base_symbol=symbol,
                side=side,
                quantity=quantity,
                filled_quantity=filled.get(status, 0),
                price=price,
                average_price=price if status in filled else None,
                status=status,
                placed_at=placed,
                updated_at=placed,
                closed_at=placed + timedelta(minutes=5) if status in TERMINAL else None,
            )
        )
    Order.objects.bulk_create(orders, batch_size=BATCH)
    ids = list(Order.objects.values_list("pk", flat=True))
    OrderEvent.objects.bulk_create(
        (
            OrderEvent(
                order_id=pk,
                kind=EventKind.REGISTERED,
                to_status="PENDING",
                source=EventSource.BOT,
                at=now - timedelta(seconds=pk),
            )
            for pk in ids
        ),
        batch_size=BATCH,
    )
    trades = []
    for number in range(CLOSED_TRADES):
        entry = now - timedelta(seconds=rng.randint(3600, year))
        entry_price = Decimal(rng.randint(10_000, 500_000)) / 100
        exit_price = entry_price + Decimal(rng.randint(-5_000, 8_000)) / 100
        exit_price = max(exit_price, Decimal("1.00"))
        trades.append(
            Trade(
                symbol=f"T{number}",
                quantity=10,
                closed_quantity=10,
                entry_price=entry_price,
                entry_time=entry,
                exit_price=exit_price,
                exit_time=entry + timedelta(days=2),
                status=TradeStatus.CLOSED,
                realised_pnl=(exit_price - entry_price) * 10,
            )
        )
    trades += [
        Trade(symbol=f"OPEN{number}", quantity=5, entry_price=Decimal("100"), entry_time=now)
        for number in range(100)
    ]
    Trade.objects.bulk_create(trades, batch_size=BATCH)
    FailedOrder.objects.bulk_create(
        FailedOrder(symbol=f"F{number}", quantity=1, reason="insufficient funds")
        for number in range(50)
    )
    SyncRun.objects.bulk_create(
        SyncRun(
            broker="paper",
            started_at=now - timedelta(minutes=number),
            finished_at=now - timedelta(minutes=number),
            outcome=SyncOutcome.OK,
            stats={"checked": 500},
        )
        for number in range(2_000)
    )


def measure(client, url):
    client.get(url)  # warm caches and template loading
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times), len(queries)


def main():
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed()
    seeded = time.perf_counter() - started
    user = User.objects.create_superuser("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    print(
        f"bench_dashboard: {Order.objects.count():,} orders, "
        f"{Trade.objects.count():,} trades seeded in {seeded:.1f} s (SQLite file)"
    )
    print(f"{'page':34} {'median ms':>10} {'queries':>8}")
    with override_settings(
        ALLOWED_HOSTS=["testserver"],
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        for label, url in PAGES:
            median, queries = measure(client, url)
            print(f"{label:34} {median:10.1f} {queries:8d}")
            record(f"dashboard {label.strip()}, 100k orders", median, "ms", None, "< 150")
            record(f"dashboard {label.strip()} queries", queries, "", None, "<= 40")
    print("targets: each page under 150 ms and at most 40 queries")


if __name__ == "__main__":
    main()
