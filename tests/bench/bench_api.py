"""REST API throughput in process (Django's test client, no network), next to its baseline.

Baseline: the minimal ORM create of DESIGN.md's yardsticks (an order and its event in
one transaction), measured in the same run on the same database. The API adds
authentication, parsing, validation, the manager's checks and rendering on top.

    SECRET_KEY=x DEBUG=false .venv/bin/python tests/bench/bench_api.py
    (DATABASE_URL=postgres://... to measure PostgreSQL; default a temporary SQLite file)
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
TEMP = tempfile.TemporaryDirectory()
os.environ.setdefault("DATABASE_URL", f"sqlite:///{TEMP.name}/bench_api.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
# One client in a tight loop is no bot: measure the API's work, not the throttle's
# budget (bench_auth.py measures what throttle counting costs).
for scope in ("TOKEN", "USER", "ANON"):
    os.environ.setdefault(f"API_THROTTLE_{scope}_RATE", "100000/s")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

from orderstate.models import Order, OrderEvent  # noqa: E402
from orderstate.models.auth import ApiToken  # noqa: E402
from tests.bench.results import record  # noqa: E402

N = int(os.environ.get("BENCH_N", "300"))


def rate(label, count, seconds, baseline=None):
    per_second = count / seconds
    versus = f"  ({per_second / baseline:.2f}x baseline)" if baseline else ""
    print(f"  {label:<46} {per_second:8.0f}/s{versus}")
    if baseline:
        record(f"API in process: {label}", per_second, "/s", f"{baseline:.0f}/s ORM create")
    return per_second


def orm_create(prefix):
    started = time.perf_counter()
    for number in range(N):
        with transaction.atomic():
            order = Order.objects.create(
                broker_order_id=f"{prefix}{number}",
                symbol=f"S{number}",
                base_symbol=f"S{number}",
                side="BUY",
                quantity=1,
                price="100.00",
            )
            OrderEvent.objects.create(order=order, kind="registered", source="api")
    return time.perf_counter() - started


def api_calls(client, method, paths_and_bodies):
    started = time.perf_counter()
    for path, body in paths_and_bodies:
        response = getattr(client, method)(path, body, content_type="application/json")
        assert response.status_code < 300, response.content[:200]
    return time.perf_counter() - started


def main():
    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_staff": True})
    _, key = ApiToken.issue(user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    Order.objects.filter(broker_order_id__startswith="bench-").delete()

    print(f"bench_api: {N} requests each, database {django.db.connection.vendor}")
    baseline = rate("baseline: ORM order + event, one transaction", N, orm_create("bench-orm-"))
    registrations = [
        (
            "/api/v1/orders/",
            {
                "broker_order_id": f"bench-api-{number}",
                "symbol": f"SYM{number}",
                "side": "BUY",
                "quantity": 10,
                "price": "100.00",
                "metadata": {"rsi10": 28.4},
            },
        )
        for number in range(N)
    ]
    rate("POST /api/v1/orders/ (new order)", N, api_calls(client, "post", registrations), baseline)
    rate(
        "POST /api/v1/orders/ (identical retry)",
        N,
        api_calls(client, "post", registrations),
        baseline,
    )
    fills = [
        (f"/api/v1/orders/bench-api-{number}/fills/", {"quantity": 5, "price": "100.00"})
        for number in range(N)
    ]
    rate("POST .../fills/", N, api_calls(client, "post", fills), baseline)
    reads = [(f"/api/v1/orders/bench-api-{number}/", None) for number in range(N)]
    rate("GET /api/v1/orders/{id}/", N, api_calls(client, "get", reads), baseline)
    pages = [("/api/v1/orders/?active=true&page_size=50", None)] * (N // 10)
    rate("GET /api/v1/orders/ (50 a page)", N // 10, api_calls(client, "get", pages), baseline)
    Order.objects.filter(broker_order_id__startswith="bench-").delete()


if __name__ == "__main__":
    main()
