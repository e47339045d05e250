"""The order feed, measured end to end: a real `stream_orders` process, the Kotak SDK's own
websocket client, a local feed server, and the change read back through the REST API.

Run: `make bench`, or `SECRET_KEY=x python tests/bench/bench_feed.py`. A throwaway
SQLite file; with BENCH_DATABASE_URL=postgres://... also a scratch PostgreSQL database
(named with BENCH_DATABASE_PREFIX), dropped afterwards.

Every frame is a change: one more share filled of one of ORDERS open buys (a fill,
its lot, its trade and its event). Prints, beside baselines measured in the same run:

- fill-to-state latency, p50 and p99, at 50 and at 500 frames/s: from the server
  sending a frame to `GET /api/v1/orders/{id}/` showing its fill (a prober thread
  takes the next frame whenever it is free, so it never queues behind itself;
  each GET's own time is printed too). Goal: p99 < 100 ms at 50 frames/s. Baseline:
  polling, where a fill waits for the next `sync_broker` run (30 s by default) plus
  the run itself (one sync of the same orders, measured here);
- frames/s one `stream_orders` process sustains (a burst, until the last frame's
  fill is visible). Goal: >= 500/s on PostgreSQL. Baselines: the same frames applied
  in process (no socket, no SDK), and the least a frame's change can cost (lock the
  order, save it, write its event: one transaction);
- where a frame's time goes: its queries, and a profile of the in-process apply.
"""

import asyncio
import cProfile
import io
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import run_child, scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

ORDERS = int(os.environ.get("BENCH_FEED_ORDERS", "200"))
RATES = ((50, 10.0), (500, 4.0))  # frames/s, seconds sent
BURST = int(os.environ.get("BENCH_FEED_BURST", "3000"))
POLL_INTERVAL = 30.0  # sync_broker's default --interval
ACK = '{"ak":"ok","type":"cn","task":"cn","msg":"connected"}'


def main():
    if os.environ.get("BENCH_CHILD"):
        run_here()
        return
    with tempfile.TemporaryDirectory() as scratch:
        child(f"sqlite:///{Path(scratch) / 'bench_feed.sqlite3'}", "SQLite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"], "feed") as url:
            child(url, "PostgreSQL")


def child(database_url, label):
    run_child(
        __file__,
        database_url,
        label,
        ALLOWED_HOSTS="testserver",
        API_THROTTLE_TOKEN_RATE="100000/s",
        NEO_LOG_FILE_ENABLED="false",
    )


def run_here():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderstate.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    label = os.environ["BENCH_LABEL"]
    print(
        f"== bench_feed on {label}: {ORDERS} open buys, every frame one more share filled "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    bench = FeedBench()
    sync_seconds = bench.one_sync()
    print(f"polling: one sync of {ORDERS} orders, each with a new fill   {sync_seconds:8.3f} s")
    bound50 = POLL_INTERVAL / 2 + sync_seconds
    bound99 = POLL_INTERVAL * 0.99 + sync_seconds
    polling = f"polling: p50 {bound50:.0f} s, p99 {bound99:.0f} s"
    print(f"  so polling every {POLL_INTERVAL:.0f} s shows a fill after {polling.split(': ')[1]}")

    with FeedServer() as server, StreamProcess(server.url, bench.book_path) as stream:
        server.wait_connected()
        bench.wait_for_first_sync()
        for rate, seconds in RATES:
            latencies, gets = bench.latency(server, rate, seconds)
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            print(
                f"fill-to-state at {rate:>3} frames/s: p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
                f"({len(latencies)} frames probed; a GET takes {statistics.median(gets):.1f} ms)"
            )
            target = "< 100" if rate == 50 else None
            record(f"feed fill-to-state p50 @{rate}/s, {label}", p50, "ms", polling, None)
            record(f"feed fill-to-state p99 @{rate}/s, {label}", p99, "ms", polling, target)
        # The baselines of the throughput right before it, while the stream waits: this
        # machine's speed drifts by the minute.
        minimal = bench.minimal_apply()
        print(f"yardstick: least change per frame (lock, save, event)    {minimal:8,.0f} frames/s")
        in_process, queries = bench.in_process()
        print(
            f"the same frames applied in process (no socket, no SDK)   {in_process:8,.0f} frames/s"
            f"  ({queries} queries a frame)"
        )
        batched = bench.batched()
        print(
            f"diagnostic: the sync's batches (50 a transaction)        {batched:8,.0f} frames/s"
            "  (what sharing commits would give)"
        )
        sustained = bench.throughput(server)
        print(
            f"one stream_orders process, a burst of {BURST:,} frames     {sustained:8,.0f} frames/s"
        )
        summary = stream.stop()
    print(f"  stream_orders said: {summary.strip()}")
    bench.check_every_fill_counted()
    print(f"  load average now {os.getloadavg()[0]:.1f}")
    record(
        f"feed frames/s, one stream_orders process, {label}",
        sustained,
        "/s",
        f"{in_process:,.0f}/s in process, {minimal:,.0f}/s least change",
        ">= 500" if label == "PostgreSQL" else None,
    )
    bench.profile()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share / 100 * (len(ordered) - 1)))]


class FeedBench:
    def __init__(self):
        from django.contrib.auth import get_user_model
        from django.test import Client

        from orderstate.manager import OrderStateManager
        from orderstate.models import ApiToken, Order

        Order.objects.all().delete()
        manager = OrderStateManager(source="bot")
        for number in range(ORDERS):
            manager.register_buy_order(f"FEED{number}-EQ", f"F-{number}", "100.00", 10**6)
        user = get_user_model().objects.create(username="bench-feed", is_staff=True)
        _, key = ApiToken.issue(user, name="bench-feed")
        self.headers = {"HTTP_AUTHORIZATION": f"Token {key}"}
        self.client_class = Client
        self.filled = dict.fromkeys(range(ORDERS), 0)  # shares sent filled, by order
        self.scratch = tempfile.TemporaryDirectory()
        self.book_path = Path(self.scratch.name) / "book.json"
        self.write_book()

    # Frames -------------------------------------------------------------------------

    def next_frame(self, number):
        """The frame that fills one more share of order `number`."""
        self.filled[number] += 1
        return frame(number, self.filled[number])

    def write_book(self):
        """The book the stream's full syncs read: every order as far as sent so far."""
        rows = [row(number, filled) for number, filled in self.filled.items()]
        self.book_path.write_text(json.dumps({"stat": "Ok", "stCode": 200, "data": rows}))

    # Baselines ----------------------------------------------------------------------

    def minimal_apply(self, count=500):
        """The least a frame's change costs: parse it, lock the order, save it, one event."""
        from django.db import transaction

        from orderstate.models import EventKind, EventSource, Order, OrderEvent

        payloads = [frame(number % ORDERS, 1) for number in range(count)]
        started = time.perf_counter()
        for payload in payloads:
            data = json.loads(payload)["data"]
            with transaction.atomic():
                order = Order.objects.select_for_update().get(
                    account="default", broker_order_id=data["nOrdNo"]
                )
                order.broker_filled_quantity = data["fldQty"]
                order.version += 1
                order.save(update_fields=["broker_filled_quantity", "version"])
                OrderEvent.objects.create(order=order, kind=EventKind.NOTE, source=EventSource.SYNC)
        return count / (time.perf_counter() - started)

    def in_process(self, count=600):
        """The same kind of frames through the stream's consumer, in this process."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        consumer = self.consumer()
        payloads = [self.next_frame(number % ORDERS) for number in range(count)]
        started = time.perf_counter()
        for payload in payloads:
            consumer.handle(payload)
        per_second = count / (time.perf_counter() - started)
        assert consumer.counts["applied"] == count, consumer.counts
        with CaptureQueriesContext(connection) as queries:
            consumer.handle(self.next_frame(0))
        return per_second, len(queries.captured_queries)

    def batched(self, count=600, size=50):
        """The same frames through the sync's batch action: 50 orders' changes per commit."""
        from orderstate.actions.base import Context
        from orderstate.actions.broker import apply_broker_updates
        from orderstate.actions.broker_rule import BrokerReport
        from orderstate.feed.frames import read_frame
        from orderstate.models import EventSource, Order

        ctx = Context.of(EventSource.SYNC)
        pks = dict(Order.objects.values_list("broker_order_id", "pk"))
        payloads = [self.next_frame(number % ORDERS) for number in range(count)]
        started = time.perf_counter()
        for start in range(0, count, size):
            reports = []
            for payload in payloads[start : start + size]:
                order = read_frame(payload).order
                reports.append((pks[order.order_id], BrokerReport.of(order)))
            outcomes = apply_broker_updates(ctx, reports)
            assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        return count / (time.perf_counter() - started)

    def one_sync(self):
        """One polling sync of every order, each with one more share filled."""
        from orderstate.sync import run_sync
        from orderstate.sync.sources import GivenBook

        for number in range(ORDERS):
            self.filled[number] += 1
        self.write_book()
        book = json.loads(self.book_path.read_text())
        started = time.perf_counter()
        run = run_sync(broker=GivenBook(book))
        seconds = time.perf_counter() - started
        assert run.outcome == "ok" and run.stats["partially_filled"] == ORDERS, run.stats
        return seconds

    def consumer(self):
        from orderstate.actions.base import Context
        from orderstate.feed.consumer import FrameConsumer
        from orderstate.models import EventSource

        return FrameConsumer(Context.of(EventSource.SYNC))

    # Through the stream process --------------------------------------------------------

    def wait_for_first_sync(self):
        from orderstate.models import SyncRun

        deadline = time.monotonic() + 60
        while not SyncRun.objects.filter(outcome="ok").count() >= 2:  # ours, then the stream's
            assert time.monotonic() < deadline, "the stream's first full sync did not finish"
            time.sleep(0.05)

    def latency(self, server, rate, seconds):
        """Send `rate` frames a second for `seconds`; the prober times what it can."""
        prober = Prober(self.client_class, self.headers)
        prober.start()
        count = int(rate * seconds)
        numbers = [index % ORDERS for index in range(count)]
        payloads = [self.next_frame(number) for number in numbers]
        server.send_paced(
            payloads,
            rate,
            on_sent=lambda index, at: prober.offer(numbers[index], _filled(payloads[index]), at),
        )
        last = numbers[-1]
        prober.stop()
        self.wait_visible(last, self.filled[last])
        return prober.latencies, prober.gets

    def throughput(self, server):
        numbers = [index % ORDERS for index in range(BURST)]
        payloads = [self.next_frame(number) for number in numbers]
        started = server.send_paced(payloads, rate=None)
        last = numbers[-1]
        self.wait_visible(last, self.filled[last], deadline=600)
        return BURST / (time.monotonic() - started)

    def wait_visible(self, number, filled, deadline=120):
        client = self.client_class(**self.headers)
        end = time.monotonic() + deadline
        while read_filled(client, number) < filled:
            assert time.monotonic() < end, f"order F-{number} never showed {filled} filled"
            time.sleep(0.002)

    def check_every_fill_counted(self):
        from orderstate.models import Order

        shown = dict(Order.objects.values_list("broker_order_id", "filled_quantity"))
        wrong = {
            number: (shown[f"F-{number}"], sent)
            for number, sent in self.filled.items()
            if shown[f"F-{number}"] != sent
        }
        assert not wrong, f"filled quantities differ from the frames sent: {wrong}"
        print(f"  every order shows exactly the shares its frames filled ({ORDERS} orders)")

    def profile(self, count=300):
        consumer = self.consumer()
        payloads = [self.next_frame(number % ORDERS) for number in range(count)]
        profiler = cProfile.Profile()
        profiler.enable()
        for payload in payloads:
            consumer.handle(payload)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(r"orderstate/(actions|feed)/", 14)
        print("where a frame's time goes (in process, cumulative, orderstate's functions):")
        lines = [line for line in out.getvalue().splitlines() if "orderstate/" in line]
        for line in lines[:14]:
            print("  " + line.strip())


class Prober(threading.Thread):
    """Takes the next frame whenever it is free and GETs its order until the fill shows."""

    def __init__(self, client_class, headers):
        super().__init__(daemon=True)
        self.client = None
        self.client_class = client_class
        self.headers = headers
        self.slot = None
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = False
        self.latencies = []
        self.gets = []

    def offer(self, number, filled, sent_at):
        with self.lock:
            if self.slot is None:
                self.slot = (number, filled, sent_at)
                self.wake.set()

    def stop(self):
        self.stopping = True
        self.wake.set()
        self.join(60)

    def run(self):
        from django.db import connection

        self.client = self.client_class(**self.headers)
        try:
            while True:
                self.wake.wait()
                self.wake.clear()
                with self.lock:
                    job = self.slot
                if job is None:
                    if self.stopping:
                        return
                    continue
                number, filled, sent_at = job
                while True:
                    began = time.monotonic()
                    shown = read_filled(self.client, number)
                    self.gets.append((time.monotonic() - began) * 1000)
                    if shown >= filled:
                        break
                self.latencies.append((time.monotonic() - sent_at) * 1000)
                with self.lock:
                    self.slot = None
        finally:
            connection.close()


def read_filled(client, number):
    response = client.get(f"/api/v1/orders/F-{number}/")
    assert response.status_code == 200, response.content[:200]
    return response.json()["filled_quantity"]


def frame(number, filled):
    """The order frame that says order F-`number` has `filled` shares filled at 100.00."""
    data = {
        "nOrdNo": f"F-{number}",
        "exOrdId": f"11000000{number:08d}",
        "ordSt": "open",
        "avgPrc": "100.00",
        "qty": 10**6,
        "fldQty": filled,
        "unFldSz": 10**6 - filled,
        "trnsTp": "B",
        "prcTp": "L",
        "prod": "CNC",
        "exSeg": "nse_cm",
        "sym": f"FEED{number}",
        "trdSym": f"FEED{number}-EQ",
        "tok": str(number),
        "ordDtTm": "24-Jul-2026 09:20:05",
        "updRecvTm": time.time_ns(),
        "boeSec": int(time.time()),
        "exCfmTm": "24-Jul-2026 09:20:05",
    }
    return json.dumps({"type": "order", "data": data})


def row(number, filled):
    """Order F-`number` as the order book shows it."""
    return {
        "nOrdNo": f"F-{number}",
        "trdSym": f"FEED{number}-EQ",
        "trnsTp": "B",
        "ordSt": "open",
        "qty": 10**6,
        "fldQty": filled,
        "prc": "100.00",
        "avgPrc": "100.00" if filled else "0.00",
        "prcTp": "L",
        "exSeg": "nse_cm",
        "ordDtTm": "24-Jul-2026 09:20:05",
    }


def _filled(payload):
    return json.loads(payload)["data"]["fldQty"]


class FeedServer:
    """Kotak's order feed on 127.0.0.1: answers the SDK's handshake, then sends what it's told."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.ready = threading.Event()
        self.connected = threading.Event()
        self.socket = None

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/realtime"

    def __enter__(self):
        self.thread.start()
        self.ready.wait(30)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stopped.set)
        self.thread.join(30)

    def wait_connected(self):
        assert self.connected.wait(120), "stream_orders never connected"

    def send_paced(self, payloads, rate, on_sent=None):
        """Send `payloads` at `rate` a second (None: at once); returns when sending began."""
        future = asyncio.run_coroutine_threadsafe(self._send(payloads, rate, on_sent), self.loop)
        return future.result(600)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self):
        from websockets.asyncio.server import serve

        self.stopped = asyncio.Event()
        async with serve(self._connection, "127.0.0.1", 0, max_queue=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.stopped.wait()

    async def _connection(self, websocket):
        await websocket.recv()  # the SDK's handshake
        await websocket.send(ACK)
        self.socket = websocket
        self.connected.set()
        await websocket.wait_closed()

    async def _send(self, payloads, rate, on_sent):
        started = time.monotonic()
        for index, payload in enumerate(payloads):
            if rate:
                due = started + index / rate
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self.socket.send(payload)
            if on_sent:
                on_sent(index, time.monotonic())
        return started


class StreamProcess:
    """`manage.py stream_orders` with the local Kotak, in its own process."""

    def __init__(self, url, book_path):
        self.env = {
            **os.environ,
            "KOTAK_FEED_URL": url,
            "BENCH_FEED_BOOK": str(book_path),
            "LOG_LEVEL": "WARNING",
        }

    def __enter__(self):
        command = [sys.executable, "manage.py", "stream_orders", "--broker"]
        command.append("tests.bench.feed_broker.LocalKotak")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True
        )
        return self

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=120)
        return out

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


if __name__ == "__main__":
    main()
