"""`make loadtest`: the API load with a sync loop and a dashboard poller at once, then invariants.

For LOADTEST_SECONDS (default 60), against gunicorn on 127.0.0.1 and a scratch
PostgreSQL database (created beside BENCH_DATABASE_URL's, dropped afterwards):
- 8 bot clients register -> 2 fills -> execute, BUY then SELL on their own symbols
  (bench_api_load.py's bots);
- `manage.py sync_broker --broker paper --loop --interval 2`, which accepts the
  bots' active orders into the paper book and may fill them first: the bot then
  gets 409 invalid_transition, counted as a lost race, not an error;
- a logged-in dashboard session GETting `/` and `/orders/` every second.

Then everything is stopped and checked: each acknowledged fill counted exactly
once, each order one row in one consistent state, `check_state` clean, no 5xx,
no failed sync run. Exits 1 when any check fails.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_api_load import (  # noqa: E402
    ADMIN_URL,
    app_env,
    gunicorn,
    manage,
    prepare,
    report,
    run_bots,
    status_counts,
)
from tests.bench.engines import scratch_postgres  # noqa: E402

SECONDS = float(os.environ.get("LOADTEST_SECONDS", "60"))
DASHBOARD_USER = ("loadtest-viewer", "load-test-only-password-7q")


class DashboardPoller(threading.Thread):
    """A logged-in browser session that reloads the overview and the order list every second."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.statuses = {}
        self.failures = []

    def run(self):
        with httpx.Client(base_url=self.base, timeout=30) as client:
            try:
                self.log_in(client)
            except (RuntimeError, httpx.HTTPError) as exc:
                self.failures.append(str(exc))
                return
            while not self.stop.wait(1.0):
                for path in ("/", "/orders/"):
                    try:
                        status = client.get(path).status_code
                    except httpx.HTTPError as exc:
                        self.failures.append(f"GET {path}: {exc}")
                        continue
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    if status != 200:
                        self.failures.append(f"GET {path}: {status}")

    def log_in(self, client):
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if token is None:
            raise RuntimeError(f"dashboard login page: {page.status_code}, no CSRF token")
        response = client.post(
            "/accounts/login/",
            data={
                "username": DASHBOARD_USER[0],
                "password": DASHBOARD_USER[1],
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Referer": f"{self.base}/accounts/login/"},
        )
        if response.status_code != 302:
            raise RuntimeError(f"dashboard login failed: {response.status_code}")


def start_sync(env, log_path):
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sync_broker",
            "--broker",
            "paper",
            "--loop",
            "--interval",
            "2",
        ],
        env=env,
        cwd=ROOT,
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,
    )


def stop_sync(process):
    """SIGTERM ends the loop between runs; a run in progress finishes first."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "killed after 60 s"


def main():
    print(
        f"== loadtest: {SECONDS:.0f} s of API load + sync loop + dashboard poller, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    with (
        scratch_postgres(ADMIN_URL, "loadtest") as url,
        tempfile.TemporaryDirectory() as scratch,
    ):
        env = app_env(url)
        key = prepare(env)
        user_env = {
            **env,
            "DJANGO_SUPERUSER_USERNAME": DASHBOARD_USER[0],
            "DJANGO_SUPERUSER_PASSWORD": DASHBOARD_USER[1],
            "DJANGO_SUPERUSER_EMAIL": "viewer@example.invalid",
        }
        manage(user_env, "createsuperuser", "--noinput")
        access_log = Path(scratch) / "access.log"
        sync_log = Path(scratch) / "sync.log"
        with gunicorn(env, access_log) as server:
            base = server.base
            sync = start_sync(env, sync_log)
            poller = DashboardPoller(base)
            poller.start()
            try:
                tally, wall = run_bots(base, key, SECONDS, tag="L")
            finally:
                poller.stop.set()
                poller.join(timeout=60)
                sync_exit = stop_sync(sync)
        report(tally, wall, label="bots")
        statuses = status_counts(access_log)
        print(f"responses by status (access log): {dict(sorted(statuses.items()))}")
        print(f"dashboard poller: {poller.statuses}; sync loop exit {sync_exit}")
        failures = check_invariants(url, tally)
        failures += [f"bot error: {error}" for error in tally.errors[:20]]
        failures += [f"dashboard: {failure}" for failure in poller.failures[:20]]
        server_errors = sum(n for status, n in statuses.items() if status >= 500)
        if server_errors:
            failures.append(f"{server_errors} responses with a 5xx status")
        if sync_exit != 0:
            failures.append(f"sync loop exited with {sync_exit}: {sync_log.read_text()[-500:]}")
    if failures:
        print("FAILED:")
        for failure in failures:
            print(f"  - {failure}")
        sys.exit(1)
    print("all invariants hold")


def check_invariants(url, tally):
    """Read the final state back with Django; return the failed checks as text."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    import django

    django.setup()
    from django.db.models import Count, Sum

    from orderstate.checks import find_problems
    from orderstate.models import EventKind, EventSource, Fill, Order, OrderEvent, SyncRun
    from orderstate.states import Status

    failures = []
    fills = dict(Fill.objects.values_list("order__broker_order_id").annotate(total=Sum("quantity")))
    sent = {order_id: qty for order_id, qty in tally.acked_fills.items() if qty}
    if fills != sent:
        wrong = sorted(set(fills) ^ set(sent) | {k for k in fills if fills[k] != sent.get(k)})
        failures.append(f"fill rows differ from acknowledged fills for {wrong[:10]}")
    print(
        f"fills: {sum(sent.values())} shares acknowledged, {sum(fills.values())} in Fill rows "
        f"({Fill.objects.count()} rows)"
    )
    duplicates = (
        Order.objects.values("account", "broker_order_id").annotate(n=Count("id")).filter(n__gt=1)
    )
    if duplicates.exists():
        failures.append(f"orders stored twice: {list(duplicates[:10])}")
    stored = set(Order.objects.values_list("broker_order_id", flat=True))
    if stored != set(tally.registered):
        failures.append(f"orders stored {len(stored)} != registered {len(tally.registered)}")
    synced = set(
        OrderEvent.objects.filter(source=EventSource.SYNC)
        .exclude(kind=EventKind.NOTE)
        .values_list("order__broker_order_id", flat=True)
    )
    executed = set(tally.executed)
    for order in Order.objects.only(
        "broker_order_id", "status", "quantity", "filled_quantity"
    ).iterator():
        problem = _state_problem(order, Status, order.broker_order_id in executed)
        own = fills.get(order.broker_order_id, 0)
        if problem is None and order.broker_order_id not in synced:
            expected = order.quantity if order.broker_order_id in executed else own
            if order.filled_quantity != expected:
                problem = f"filled {order.filled_quantity}, the bot's fills say {expected}"
        if problem:
            failures.append(f"order {order.broker_order_id}: {problem}")
    print(
        f"orders: {len(stored)} stored, {len(executed)} executed by the bots, "
        f"{len(synced)} touched by the sync, {tally.lost_races} lost races"
    )
    problems = find_problems()
    for problem in problems:
        failures.append(f"check_state: {problem.code}: {problem.message}")
    print(f"check_state: {len(problems)} problems")
    runs = dict(SyncRun.objects.values_list("outcome").annotate(n=Count("id")))
    print(f"sync runs by outcome: {runs}")
    if runs.get("failed"):
        failures.append(f"{runs['failed']} sync runs failed")
    return failures


def _state_problem(order, Status, executed_by_bot):
    """Why the order's status and filled quantity disagree, or None."""
    filled, quantity = order.filled_quantity, order.quantity
    if filled > quantity:
        return f"filled {filled} of {quantity}"
    if executed_by_bot and order.status != Status.EXECUTED:
        return f"acknowledged as executed but {order.status}"
    if order.status == Status.EXECUTED and filled != quantity:
        return f"EXECUTED with {filled} of {quantity} filled"
    if order.status == Status.PARTIALLY_FILLED and not 0 < filled < quantity:
        return f"PARTIALLY_FILLED with {filled} of {quantity} filled"
    if order.status in (Status.PENDING, Status.OPEN) and filled:
        return f"{order.status} with {filled} filled"
    return None


if __name__ == "__main__":
    main()
