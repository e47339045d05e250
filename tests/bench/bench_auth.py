"""What token authentication and throttling cost per API request, next to baselines.

Standalone: `SECRET_KEY=x python tests/bench/bench_auth.py`. In-process (Django's
test client, no network) on a throwaway SQLite file, so the figures isolate the
server's work. Baselines measured in the same run: /healthz (no auth, two small
queries) and the same API read with a session login instead of a token.
"""

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
WORKDIR = tempfile.mkdtemp(prefix="bench_auth_")
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")
# Budgets no single-threaded loop reaches: this measures what counting costs, not limits.
for scope in ("TOKEN", "USER", "ANON"):
    os.environ[f"API_THROTTLE_{scope}_RATE"] = "100000/s"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from orderstate.manager import OrderStateManager  # noqa: E402
from orderstate.tokens import ApiToken  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "500"))
PATH = "/api/v1/active-sell-orders/"


def rate(client, path, **headers):
    client.get(path, **headers)
    statuses = Counter()
    start = time.perf_counter()
    for _ in range(REQUESTS):
        statuses[client.get(path, **headers).status_code] += 1
    elapsed = time.perf_counter() - start
    assert statuses == {200: REQUESTS}, (path, statuses)
    return REQUESTS / elapsed, elapsed / REQUESTS * 1e6


def main():
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", is_staff=True)
    manager = OrderStateManager()
    for n in range(20):
        manager.register_sell_order(f"SYM{n}", f"S-{n}", "100.00", 1)
    _, key = ApiToken.issue(user)
    token = {"HTTP_AUTHORIZATION": f"Token {key}"}
    client = Client(HTTP_HOST="localhost")
    session = Client(HTTP_HOST="localhost")
    session.force_login(user)

    rows = [
        ("/healthz, no auth (baseline)", rate(client, "/healthz")),
        (f"{PATH} session login (baseline)", rate(session, PATH)),
        (f"{PATH} ApiToken", rate(client, PATH, **token)),
    ]
    throttles = APIView.throttle_classes
    APIView.throttle_classes = []
    rows.append((f"{PATH} ApiToken, throttles off", rate(client, PATH, **token)))
    APIView.throttle_classes = throttles

    print(f"\nbench_auth: {REQUESTS} in-process GETs each (SQLite, one thread)")
    print(f"{'request':<62} {'req/s':>8} {'µs/req':>8}")
    for name, (per_second, micros) in rows:
        print(f"{name:<62} {per_second:>8.0f} {micros:>8.0f}")
    token_cost = rows[2][1][1] - rows[1][1][1]
    throttle_cost = rows[2][1][1] - rows[3][1][1]
    print(
        f"token auth vs session: {token_cost:+.0f} µs/request; throttling: {throttle_cost:+.0f} µs"
    )


if __name__ == "__main__":
    main()
