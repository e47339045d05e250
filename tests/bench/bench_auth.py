"""What token authentication and throttling cost per API request, next to baselines.

Standalone: `SECRET_KEY=x python tests/bench/bench_auth.py`. In-process (Django's
test client, no network) on a throwaway SQLite file, so the figures isolate the
server's work. Baselines measured in the same run: /healthz (no auth, two small
queries) and the same API read with a session login instead of a token.
"""

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
WORKDIR = tempfile.mkdtemp(prefix="bench_auth_")
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)
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
from orderstate.models.auth import ApiToken  # noqa: E402
from tests.bench.results import record  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
PER_ROUND = int(os.environ.get("BENCH_PER_ROUND", "100"))
PATH = "/api/v1/active-sell-orders/"


def timed(client, path, count, **headers):
    """Microseconds per request over `count` requests, all of which must answer 200."""
    statuses = Counter()
    start = time.perf_counter()
    for _ in range(count):
        statuses[client.get(path, **headers).status_code] += 1
    elapsed = time.perf_counter() - start
    assert statuses == {200: count}, (path, statuses)
    return elapsed / count * 1e6


def interleaved(variants, rounds=ROUNDS):
    """Median µs/request of each variant over rounds run in turn, so load drifts hit all alike."""
    samples = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


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
    throttles = APIView.throttle_classes

    def unthrottled():
        APIView.throttle_classes = []
        try:
            return timed(client, PATH, PER_ROUND, **token)
        finally:
            APIView.throttle_classes = throttles

    per_request = interleaved(
        {
            "/healthz, no auth (baseline)": lambda: timed(client, "/healthz", PER_ROUND),
            f"{PATH} session login (baseline)": lambda: timed(session, PATH, PER_ROUND),
            f"{PATH} ApiToken": lambda: timed(client, PATH, PER_ROUND, **token),
            f"{PATH} ApiToken, throttles off": unthrottled,
        }
    )
    print(
        f"\nbench_auth: median of {ROUNDS} interleaved rounds of {PER_ROUND} in-process GETs "
        f"(SQLite, one thread, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
    )
    print(f"{'request':<62} {'req/s':>8} {'µs/req':>8}")
    for name, micros in per_request.items():
        print(f"{name:<62} {1e6 / micros:>8.0f} {micros:>8.0f}")
    values = list(per_request.values())
    record(
        "GET API with ApiToken (in process)",
        1e6 / values[2],
        "/s",
        f"{1e6 / values[1]:.0f}/s session",
    )
    print(
        f"token auth vs session login: {values[2] - values[1]:+.0f} µs/request; "
        f"throttle counting: {values[2] - values[3]:+.0f} µs/request"
    )


if __name__ == "__main__":
    main()
