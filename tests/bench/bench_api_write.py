"""The API's write path beside the smallest honest DRF endpoint doing the same job.

POST /api/v1/orders/ (register) and POST /api/v1/orders/{id}/fills/ (fill), driven in
process through Django's full handler and middleware (the test `Client`, no
network), next to tests/bench/yardstick.py: the same token, the same bodies, the
same database, the same number of requests, interleaved one by one so the
machine's drift hits both alike. Prints requests/s of each and their ratio on
SQLite and, when BENCH_DATABASE_URL names a server, on PostgreSQL (a scratch
database, created and dropped). Also how much of one request the manager call
takes (orderstate/manager.py), and the view's own read of the order before it.

    SECRET_KEY=bench DEBUG=false .venv/bin/python tests/bench/bench_api_write.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ... (same command)
    ... bench_api_write.py --profile [register|fill] [ours|yardstick] [DATABASE_URL]
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import child_result, scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "600"))  # of each variant, per figure
WARM_UP = 30
OURS = "/api/v1/orders/"
YARDSTICK = "/yardstick/orders/"
TARGET = ">= 0.9"
PROFILE_ROWS = int(os.environ.get("BENCH_PROFILE_ROWS", "60"))


# One engine, in a child process --------------------------------------------------


def setup_django(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    # One client in a tight loop is no bot: budgets it never reaches, so the
    # throttles count every request (their cost is measured) but never refuse one.
    for scope in ("TOKEN", "USER", "ANON"):
        os.environ[f"API_THROTTLE_{scope}_RATE"] = "100000/s"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ROOT_URLCONF = "tests.bench.yardstick"
    call_command("migrate", verbosity=0)


def bot_client():
    """A test client with the key of a bot's token: not staff, view and change permission,
    as `manage.py create_api_token` makes it."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client

    from orderstate.models.auth import ApiToken

    user = get_user_model().objects.create_user("bench-bot")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="orderstate", codename__in=["view_order", "change_order"]
        )
    )
    _, key = ApiToken.issue(user, name="bench")
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


class Bodies:
    """Request bodies, each order new: `register(prefix)` then `fill(prefix)` on the same ids."""

    def __init__(self):
        self.next_number = 0
        self.registered = {}

    def register(self, prefix):
        number = self.next_number
        self.next_number += 1
        order_id = f"{prefix}-{number}"
        self.registered.setdefault(prefix, []).append(order_id)
        body = {
            "broker_order_id": order_id,
            "symbol": f"SYM{number}-EQ",
            "side": "BUY",
            "quantity": 10,
            "price": "2500.05",
            "ticker": f"SYM{number}.NS",
            "metadata": {"rsi10": 28.4, "ema9": 2490.1},
        }
        return json.dumps(body).encode()

    def fill(self, prefix):
        order_id = self.registered[prefix].pop(0)
        body = {"quantity": 4, "price": "2500.05", "fill_id": f"F-{order_id}"}
        return order_id, json.dumps(body).encode()


def requester(client, bodies, kind, base, prefix, expected):
    """One request of `kind` ("register" or "fill") against `base`; asserts its status."""

    def register():
        response = client.post(base, bodies.register(prefix), content_type="application/json")
        assert response.status_code == expected, response.content[:300]

    def fill():
        order_id, body = bodies.fill(prefix)
        response = client.post(f"{base}{order_id}/fills/", body, content_type="application/json")
        assert response.status_code == expected, response.content[:300]

    return register if kind == "register" else fill


def interleaved(variants, count=REQUESTS):
    """Requests/s of each variant, their requests interleaved one by one (ABBA order),
    so the machine's drift and other processes' load hit all of them alike; and the
    median ms of one request, which a few slow commits of a busy disk do not move."""
    took = {name: [] for name in variants}
    names = list(variants)
    for number in range(count):
        for name in names if number % 2 == 0 else reversed(names):
            start = time.perf_counter()
            variants[name]()
            took[name].append(time.perf_counter() - start)
    return {
        **{name: count / sum(seconds) for name, seconds in took.items()},
        **{
            f"{name}_median_ms": statistics.median(seconds) * 1000 for name, seconds in took.items()
        },
    }


class Stopwatch:
    """Time spent inside some methods, wrapped for one measuring pass only."""

    def __init__(self):
        self.seconds = {}
        self.restore = []

    def wrap(self, owner, name, label):
        original = getattr(owner, name)
        self.seconds.setdefault(label, 0.0)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        setattr(owner, name, timed)
        self.restore.append((owner, name, original))

    def unwrap(self):
        for owner, name, original in reversed(self.restore):
            setattr(owner, name, original)


def manager_share(variants, kind, count):
    """ms per request: ours whole, its manager call, its view's read of the order before
    it; the yardstick whole and its own transaction (what the manager call replaces)."""
    from orderstate.api.views import OrderViewSet
    from orderstate.manager import OrderStateManager
    from tests.bench import yardstick

    watch = Stopwatch()
    verb = "register_or_get" if kind == "register" else "record_fill"
    watch.wrap(OrderStateManager, verb, "manager")
    watch.wrap(OrderViewSet, "get_object", "view read")
    watch.wrap(yardstick, f"{kind}_order", "yardstick transaction")
    took = dict.fromkeys(variants, 0.0)
    try:
        for _ in range(count):
            for name, request in variants.items():
                start = time.perf_counter()
                request()
                took[name] += time.perf_counter() - start
    finally:
        watch.unwrap()
    return {
        "request_ms": took["ours"] / count * 1000,
        "yardstick_request_ms": took["yardstick"] / count * 1000,
        **{f"{label}_ms": seconds / count * 1000 for label, seconds in watch.seconds.items()},
    }


def queries_per_request(request):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        request()
    return len(queries)


def run_engine(database_url):
    setup_django(database_url)
    from django.db import connection

    client = bot_client()
    bodies = Bodies()
    figures = {}
    for kind, expected in (("register", 201), ("fill", 200)):
        variants = {
            "ours": requester(client, bodies, kind, OURS, "ours", expected),
            "yardstick": requester(client, bodies, kind, YARDSTICK, "yard", expected),
        }
        warm = {"ours": "warm-ours", "yardstick": "warm-yard"}
        for name, base in (("ours", OURS), ("yardstick", YARDSTICK)):
            for _ in range(WARM_UP):
                requester(client, bodies, kind, base, warm[name], expected)()
        rates = interleaved(variants)
        share = manager_share(variants, kind, max(REQUESTS // 4, 20))
        figures[kind] = {
            **rates,
            **share,
            "queries_ours": queries_per_request(variants["ours"]),
            "queries_yardstick": queries_per_request(variants["yardstick"]),
        }
    print(json.dumps({"vendor": connection.vendor, "figures": figures}))


def profile(kind, database_url, target="ours"):
    """cProfile of one endpoint: the functions that take most of a request, ms each."""
    import cProfile
    import pstats

    setup_django(database_url)
    client = bot_client()
    bodies = Bodies()
    count = REQUESTS // 2
    expected = 201 if kind == "register" else 200
    if kind == "fill":
        registering = requester(client, bodies, "register", OURS, "ours", 201)
        for _ in range(count + WARM_UP):
            registering()
    base = OURS if target == "ours" else YARDSTICK
    request = requester(client, bodies, kind, base, "ours", expected)
    for _ in range(WARM_UP):
        request()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(lambda: [request() for _ in range(count)])
    took = (time.perf_counter() - start) / count * 1000
    print(f"{target} {kind}: {took:.2f} ms per request, profiled")
    stats = pstats.Stats(profiler).stats
    rows = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)
    print(f"{'cumulative ms/request':>22} {'own ms/request':>15} {'calls/request':>14}  function")
    for (filename, line, name), (_, calls, own, cumulative, _) in rows[:PROFILE_ROWS]:
        where = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        print(
            f"{cumulative / count * 1000:>22.3f} {own / count * 1000:>15.3f} "
            f"{calls / count:>14.1f}  {name} ({where}:{line})"
        )


# The parent: engines, the table ---------------------------------------------------


def main():
    engines = []
    with tempfile.TemporaryDirectory(prefix="bench_api_write_") as directory:
        engines.append(child_result(__file__, f"sqlite:///{directory}/bench.sqlite3"))
    server = os.environ.get("BENCH_DATABASE_URL")
    if server:
        with scratch_postgres(server, f"api_write_{os.getpid()}") as url:
            engines.append(child_result(__file__, url))
    print_table(engines)


LABELS = {"register": "POST /orders/ (register)", "fill": "POST /orders/{id}/fills/"}


def print_table(engines):
    print(
        f"API writes in process vs the smallest DRF endpoint doing the same job "
        f"({REQUESTS} requests each, interleaved, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f})"
    )
    header = (
        f"{'engine':<11}{'request':<27}{'ours/s':>8}{'yardstick/s':>13}{'ratio':>7}"
        f"{'median ratio':>14}{'queries':>10}"
    )
    print(header)
    print("-" * len(header))
    for engine in engines:
        for kind, row in engine["figures"].items():
            ratio = row["ours"] / row["yardstick"]
            print(
                f"{engine['vendor']:<11}{LABELS[kind]:<27}{row['ours']:>8.0f}"
                f"{row['yardstick']:>13.0f}{ratio:>7.2f}"
                f"{row['yardstick_median_ms'] / row['ours_median_ms']:>14.2f}"
                f"{row['queries_ours']:>6} vs {row['queries_yardstick']}"
            )
    print("\nWhere a request's time goes (ms per request, a separate pass with timers on)")
    header = (
        f"{'engine':<11}{'request':<27}{'ours':>7}{'manager call':>14}{'share':>7}"
        f"{'view read':>11}{'yardstick':>11}{'its transaction':>17}"
    )
    print(header)
    print("-" * len(header))
    for engine in engines:
        vendor = engine["vendor"]
        for kind, row in engine["figures"].items():
            ratio = row["ours"] / row["yardstick"]
            share = row["manager_ms"] / row["request_ms"]
            print(
                f"{vendor:<11}{LABELS[kind]:<27}{row['request_ms']:>7.2f}"
                f"{row['manager_ms']:>14.2f}{share:>7.0%}{row['view read_ms']:>11.2f}"
                f"{row['yardstick_request_ms']:>11.2f}{row['yardstick transaction_ms']:>17.2f}"
            )
            record(
                f"{LABELS[kind]} in process, {vendor}",
                row["ours"],
                "/s",
                f"{row['yardstick']:.0f}/s DRF yardstick",
            )
            record(
                f"{LABELS[kind]} / DRF yardstick, {vendor}",
                ratio,
                "x",
                f"manager {share:.0%} of a request",
                TARGET if kind == "register" else None,
            )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--engine":
        run_engine(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "--profile":
        kind, target, url = [*sys.argv[2:], None, None, None][:3]
        with tempfile.TemporaryDirectory(prefix="bench_api_write_") as directory:
            url = url or f"sqlite:///{directory}/profile.sqlite3"
            profile(kind or "register", url, target or "ours")
    else:
        main()
