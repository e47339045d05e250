"""Benchmark of the notification outbox: deliveries/s to a local receiver, and the drain of
a one-hour receiver outage's backlog.

Run: `make bench`, or `SECRET_KEY=x python tests/bench/bench_outbox.py`. Uses a
throwaway SQLite file; with BENCH_DATABASE_URL=postgres://... it also runs on a
scratch database beside that one (BENCH_DATABASE_PREFIX keeps parallel runs apart).

The receiver is a threaded `http.server` on 127.0.0.1 answering 204, in a process
of its own. Beside
our figure, measured in the same run against the same receiver: plain signed
POSTs of the same bodies with the same number of threads and no database (the
ceiling of the HTTP side on this machine).

An hour's events at the loadtest's rates: `make loadtest` (docs/performance.md)
completed 1,498 orders in 60.8 s, each with two fills and an execution, the
kinds a fills webhook wants: 3 x 1,498 / 60.8 = 73.9 events/s, 266,000 an hour.
That many messages wait in the outbox as a receiver that was down an hour left
them; the deliverer then drains them, and the receiver must have each one once.
BENCH_OUTBOX_HOUR_EVENTS sets another count (a quick run: 20000).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import run_child, scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

LOADTEST_ORDERS, LOADTEST_SECONDS, EVENTS_PER_ORDER = 1498, 60.8, 3
EVENTS_PER_SECOND = LOADTEST_ORDERS * EVENTS_PER_ORDER / LOADTEST_SECONDS
HOUR_EVENTS = int(os.environ.get("BENCH_OUTBOX_HOUR_EVENTS", round(EVENTS_PER_SECOND * 3600)))
THROUGHPUT_MESSAGES = int(os.environ.get("BENCH_OUTBOX_MESSAGES", "5000"))
SECRET = "bench-only-webhook-secret-0123456789"


def main():
    if sys.argv[1:] == ["--receiver"]:
        serve_receiver()
        return
    if os.environ.get("BENCH_CHILD"):
        run_here()
        return
    with tempfile.TemporaryDirectory() as scratch:
        run_child(__file__, f"sqlite:///{Path(scratch) / 'bench_outbox.sqlite3'}", "SQLite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"], "outbox") as url:
            run_child(__file__, url, "PostgreSQL")


class ReceiverProcess:
    """The receiver in a process of its own (as a real one would be): a threaded http.server
    on 127.0.0.1 answering 204, counting POSTs and distinct event ids; GET /stats reads them,
    POST /reset clears them."""

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--receiver"], stdout=subprocess.PIPE, text=True
        )
        self.url = self.process.stdout.readline().strip()
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)

    def stats(self):
        import httpx

        return httpx.get(f"{self.url}/stats").json()

    def reset(self):
        import httpx

        httpx.post(f"{self.url}/reset")


def serve_receiver():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock, seen, counted = threading.Lock(), set(), [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                if self.path == "/reset":
                    seen.clear()
                    counted[0] = 0
                else:
                    counted[0] += 1
                    seen.add(self.headers.get("X-Orderstate-Event-Id"))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            with lock:
                body = json.dumps({"count": counted[0], "distinct": len(seen)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def run_here():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    label = os.environ.get("BENCH_LABEL", "database")
    threads = settings.ORDERSTATE_NOTIFY_CONCURRENCY
    print(
        f"== bench_outbox on {label}: {threads} sends at once, load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    with ReceiverProcess() as receiver:
        bench = OutboxBench(receiver)
        plain = bench.plain_posts(THROUGHPUT_MESSAGES, threads)
        print(f"baseline: plain signed POSTs, no database, {threads} threads {plain:8,.0f} /s")
        ours = bench.deliveries(THROUGHPUT_MESSAGES)
        print(f"deliver_notifications, {THROUGHPUT_MESSAGES:,} messages           {ours:8,.0f} /s")
        print(
            f"an hour at the loadtest's rates: {EVENTS_PER_SECOND:.1f} events/s x 3600 s = "
            f"{HOUR_EVENTS:,} messages"
        )
        seconds, fill_seconds = bench.drain(HOUR_EVENTS)
        print(f"  backlog written in {fill_seconds:.0f} s (two INSERTs, not measured)")
        print(
            f"  drained in {seconds:8.1f} s ({HOUR_EVENTS / seconds:,.0f} /s; each once, none lost)"
            f"; {HOUR_EVENTS / EVENTS_PER_SECOND / seconds:.1f}x as fast as the events came"
        )
    record(f"outbox deliveries/s, {label}", ours, "/s", plain, f">= {EVENTS_PER_SECOND:.0f}")
    record(
        f"outbox: drain {HOUR_EVENTS:,} (1 h at loadtest rate), {label}",
        seconds,
        "s",
        f"{HOUR_EVENTS / plain:.0f} s at plain POST rate",
        "< 900",
    )


class OutboxBench:
    def __init__(self, receiver):
        self.receiver = receiver
        self.url = f"{receiver.url}/hook"

    def plain_posts(self, count, threads):
        """POSTs/s of signed event bodies to the same receiver: no claims, no outcomes."""
        import httpx

        from orderstate.notify.payload import signature

        body = (
            b'{"id":1,"at":"2026-12-02T09:15:00+05:30","kind":"fill","account":"default",'
            b'"order":"B-1","symbol":"TCS","from_status":"OPEN","to_status":"PARTIALLY_FILLED",'
            b'"source":"sync","actor":null,"data":{"filled_quantity":1}}'
        )
        headers = {
            "Content-Type": "application/json",
            "X-Orderstate-Event-Id": "1",
            "X-Orderstate-Signature": signature(SECRET, body),
        }
        self.receiver.reset()
        limits = httpx.Limits(max_connections=2 * threads, max_keepalive_connections=2 * threads)
        with (
            httpx.Client(timeout=10, limits=limits) as client,
            ThreadPoolExecutor(threads) as pool,
        ):
            started = time.perf_counter()
            answers = list(
                pool.map(lambda _: client.post(self.url, content=body, headers=headers).status_code,
                         range(count))
            )  # fmt: skip
            seconds = time.perf_counter() - started
        assert answers.count(204) == count
        return count / seconds

    def backlog(self, count):
        """`count` fill events of one order, each waiting for one webhook, as an outage leaves
        them (written with two statements: the benchmark measures the delivery)."""
        from datetime import timedelta

        from django.db import connection, transaction
        from django.utils import timezone

        from orderstate.models import (
            Channel,
            EventKind,
            Order,
            OrderEvent,
            OutboxMessage,
            Subscription,
        )

        OutboxMessage.objects.all().delete()
        OrderEvent.objects.all().delete()
        Subscription.objects.all().delete()
        Order.objects.all().delete()
        hook = Subscription.objects.create(
            name="bench", channel=Channel.WEBHOOK, url=self.url, secret=SECRET, kinds=["fill"]
        )
        order = Order.objects.create(
            broker_order_id="B-1",
            symbol="TCS-EQ",
            base_symbol="TCS",
            side="BUY",
            quantity=10**9,
            price="3900.00",
            status="PARTIALLY_FILLED",
        )
        start = timezone.now() - timedelta(hours=1)
        step = timedelta(seconds=3600 / count)
        data = OrderEvent._meta.get_field("data")
        adapt = connection.ops.adapt_datetimefield_value
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO orderstate_orderevent"
                " (order_id, account, symbol, at, kind, from_status, to_status, source, data)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        order.pk,
                        order.account,
                        order.base_symbol,
                        adapt(start + step * index),
                        EventKind.FILL,
                        "PARTIALLY_FILLED",
                        "PARTIALLY_FILLED",
                        "sync",
                        data.get_db_prep_value(
                            {"filled_quantity": index + 1, "broker_status": "open"}, connection
                        ),
                    )
                    for index in range(count)
                ],
            )
            cursor.execute(
                "INSERT INTO orderstate_outboxmessage (subscription_id, event_id, account,"
                " created_at, status, attempts, next_attempt_at, claimed_by, last_error)"
                " SELECT %s, id, 'default', at, 'pending', 0, at, '', ''"
                " FROM orderstate_orderevent WHERE order_id = %s",
                [hook.pk, order.pk],
            )

    def deliver_all(self):
        from orderstate.models import OutboxMessage
        from orderstate.notify.deliverer import Deliverer

        deliverer = Deliverer()
        try:
            while OutboxMessage.objects.pending().exists():
                deliverer.deliver_due()
        finally:
            deliverer.close()

    def deliveries(self, count):
        self.backlog(count)
        self.receiver.reset()
        started = time.perf_counter()
        self.deliver_all()
        seconds = time.perf_counter() - started
        assert self.receiver.stats()["count"] == count
        return count / seconds

    def drain(self, count):
        from orderstate.models import Delivery, OutboxMessage

        started = time.perf_counter()
        self.backlog(count)
        fill_seconds = time.perf_counter() - started
        self.receiver.reset()
        started = time.perf_counter()
        self.deliver_all()
        seconds = time.perf_counter() - started
        delivered = OutboxMessage.objects.filter(status=Delivery.DELIVERED).count()
        assert delivered == count, (delivered, count)
        assert self.receiver.stats() == {"count": count, "distinct": count}
        return seconds, fill_seconds


if __name__ == "__main__":
    main()
