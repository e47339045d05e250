"""Commit-to-bot latency of the event feed, and how many long polls one worker holds.

1. Latency: gunicorn (gunicorn.conf.py) on 127.0.0.1 against a scratch
   PostgreSQL database (with DATABASE_POOL_SIZE, as docs/operations.md advises
   for long-polling bots) and then a SQLite file. BENCH_EVENT_BOTS bots (50)
   long-poll `GET /api/v1/events/?kind=fill&wait=30`; a writer process records
   a fill through the manager every BENCH_EVENT_GAP seconds. Each bot notes when
   each fill reached it; the latency is that moment minus the moment the
   writer's commit returned. Printed beside the same bots polling once a second
   without `wait` (the old way: `get_active_sell_orders()` in a loop), beside a
   plain GET's round trip on the same server, and with the CPU one answered long
   poll costs (the answer and the bot's next poll).
2. Waiters: one worker of 32 threads lets 28 requests wait. A plain GET's
   latency with none waiting, with 28 waiting, and with 12 more turned away
   (503); then, with the reserve taken away (ORDERSTATE_EVENT_WAITERS=32), the
   same GET behind 32 waiting requests.
3. What the NOTIFY trigger costs: registrations/s through the manager from 4
   processes on PostgreSQL, with the trigger and without it, three times each.

    SECRET_KEY=x DEBUG=false .venv/bin/python tests/bench/bench_events.py
    BENCH_EVENT_BOTS=50 BENCH_EVENT_FILLS=30 BENCH_EVENT_GAP=1.0

Target: p99 under 50 ms on PostgreSQL.
"""

import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_api_load import (  # noqa: E402
    ADMIN_URL,
    app_env,
    database_cpu_seconds,
    gunicorn,
    percentile,
    prepare,
)
from tests.bench.engines import scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402

BOTS = int(os.environ.get("BENCH_EVENT_BOTS", "50"))
FILLS = int(os.environ.get("BENCH_EVENT_FILLS", "30"))
GAP = float(os.environ.get("BENCH_EVENT_GAP", "1.0"))
WARM_UP = 3
BOT_PROCESSES = 5
POOL_SIZE = "4"
STOP = "stop"
FORK = multiprocessing.get_context("fork")


# -- the writer: fills through the manager, in a process of its own ------------------


def django_in_this_process(env):
    os.environ.update(env, DJANGO_SETTINGS_MODULE="orderstate.settings")
    import django

    django.setup()


def writer(env, tag, count, queue, bots_ready):
    """Record `count` fills (after warm-ups, before a last one that stops the bots), each
    in its own transaction; put (fill id, moment its commit returned) on `queue`."""
    django_in_this_process(env)
    from orderstate.manager import OrderStateManager

    manager = OrderStateManager(source="api")
    order_id = f"B-{tag}"
    manager.register_buy_order("BENCH-EQ", order_id, "100.00", 1_000_000)
    bots_ready.wait()
    time.sleep(1.0)
    fill_ids = [f"{tag}-w{n}" for n in range(WARM_UP)]
    fill_ids += [f"{tag}-{n}" for n in range(count)] + [f"{tag}-{STOP}"]
    for fill_id in fill_ids:
        manager.record_fill(order_id, 1, "100.00", fill_id=fill_id)
        queue.put((fill_id, time.monotonic()))
        time.sleep(GAP)


# -- the bots ----------------------------------------------------------------------------


def bot(base, key, tag, mode, receipts, failures):
    """Follow the feed until the stop fill, with long polls (`wait`) or a poll a second;
    append (fill id, moment it arrived) to `receipts`."""
    with httpx.Client(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Token {key}"}, timeout=40
    ) as client:
        cursor = client.get("/events/", params={"after": "latest"}).json()["next_after"]
        while True:
            params = {"after": cursor, "kind": "fill"}
            if mode == "wait":
                params["wait"] = 30
            else:
                time.sleep(1.0)
            response = client.get("/events/", params=params)
            arrived = time.monotonic()
            if response.status_code != 200:
                failures.append(response.status_code)
                time.sleep(1.0)
                continue
            page = response.json()
            for event in page["results"]:
                receipts.append((event["data"]["fill_id"], arrived))
                if event["data"]["fill_id"] == f"{tag}-{STOP}":
                    return
            cursor = page["next_after"]


def bot_process(base, key, tag, mode, count, queue, ready):
    receipts = [[] for _ in range(count)]
    failures = []
    threads = [
        threading.Thread(target=bot, args=(base, key, tag, mode, mine, failures))
        for mine in receipts
    ]
    for thread in threads:
        thread.start()
    ready.release()
    for thread in threads:
        thread.join()
    queue.put((receipts, failures))


def follow(server, key, env, tag, mode):
    """One round: BOTS bots in BOT_PROCESSES processes, FILLS fills; returns latencies (ms),
    the fills a bot missed or saw twice, and the bots' failed requests."""
    commits, receipts = FORK.Queue(), FORK.Queue()
    ready = FORK.Semaphore(0)
    bots_ready = FORK.Event()
    shares = [BOTS // BOT_PROCESSES + (n < BOTS % BOT_PROCESSES) for n in range(BOT_PROCESSES)]
    processes = [
        FORK.Process(
            target=bot_process, args=(server.base, key, tag, mode, n, receipts, ready), daemon=True
        )
        for n in shares
    ]
    for process in processes:
        process.start()
    fills = FORK.Process(target=writer, args=(env, tag, FILLS, commits, bots_ready), daemon=True)
    fills.start()
    for _ in processes:
        ready.acquire()
    bots_ready.set()
    # A writer or a bot that died would leave this waiting: give up after a while instead.
    patience = 60 + (WARM_UP + FILLS) * GAP
    committed = dict(commits.get(timeout=patience) for _ in range(WARM_UP + FILLS + 1))
    seen = [receipts.get(timeout=patience) for _ in processes]
    for process in [*processes, fills]:
        process.join()
    measured = {fill_id for fill_id in committed if fill_id.split("-")[-1].isdigit()}
    latencies, wrong, failures = [], 0, []
    for bots_receipts, bots_failures in seen:
        failures += bots_failures
        for mine in bots_receipts:
            ids = [fill_id for fill_id, _ in mine]
            wrong += len(ids) - len(set(ids)) + len(set(committed) - set(ids))
            latencies += [
                (arrived - committed[fill_id]) * 1000
                for fill_id, arrived in mine
                if fill_id in measured
            ]
    return latencies, wrong, failures


def plain_get_latencies(base, key, count=100, warm_up=True):
    """Milliseconds of `count` GET /active-sell-orders/ in a row, on one connection."""
    with httpx.Client(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Token {key}"}, timeout=60
    ) as client:
        if warm_up:
            client.get("/active-sell-orders/")
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            client.get("/active-sell-orders/")
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def summary(latencies):
    return tuple(percentile(latencies, q) for q in (0.50, 0.99))


# -- 1. latency ------------------------------------------------------------------------


def latency(label, env, database_url=None):
    key = prepare(env)
    with tempfile.TemporaryDirectory() as scratch, gunicorn(env, Path(scratch) / "a.log") as server:
        floor50, _ = summary(plain_get_latencies(server.base, key, 50))
        before = server.cpu_seconds(), database_url and database_cpu_seconds(database_url)
        pushed, wrong, failures = follow(server, key, env, f"{label}w", "wait")
        after = server.cpu_seconds(), database_url and database_cpu_seconds(database_url)
        polled, polled_wrong, _ = follow(server, key, env, f"{label}p", "poll")
    p50, p99 = summary(pushed)
    poll50, poll99 = summary(polled)
    answers = BOTS * (WARM_UP + FILLS + 1)
    cpu = f"gunicorn {(after[0] - before[0]) * 1000 / answers:.1f} ms"
    if database_url:
        cpu += f", PostgreSQL {(after[1] - before[1]) * 1000 / answers:.1f} ms"
    print(
        f"{label}: {BOTS} bots waiting, {FILLS} fills: commit to bot p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms ({len(pushed)} receipts); polling once a second: p50 "
        f"{poll50:.0f} ms, p99 {poll99:.0f} ms; a plain GET alone: p50 {floor50:.1f} ms; "
        f"fills missed or seen twice: {wrong} (polling {polled_wrong}); failed requests: "
        f"{len(failures)}; CPU per answered long poll (the answer and the next poll): {cpu}"
    )
    baseline = f"polling 1/s {poll50:.0f}, GET {floor50:.0f}"
    record(f"Events {label}: commit to bot p50, {BOTS} waiting", p50, "ms", baseline, None)
    target = "< 50" if label == "PG" else None
    record(f"Events {label}: commit to bot p99", p99, "ms", f"polling 1/s: {poll99:.0f} ms", target)
    record(f"Events {label}: fills missed or seen twice", wrong + polled_wrong, "", None, "= 0")
    record(
        f"Events {label}: CPU per answered long poll",
        (after[0] - before[0]) * 1000 / answers,
        "ms",
        "gunicorn, all workers",
        None,
    )


# -- 2. waiters per worker ---------------------------------------------------------------


def hold_waiters(base, key, count, wait, statuses):
    """Start `count` long polls that nothing answers before `wait`; statuses come later."""

    def one():
        with httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Token {key}"}, timeout=60
        ) as client:
            response = client.get(
                "/events/", params={"after": "latest", "kind": "rejected", "wait": wait}
            )
            statuses.append(response.status_code)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def until_waiting(base, key, count):
    """Block until the (single) worker reports `count` long polls waiting (its /metrics)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Token {key}"}) as client:
        while True:
            for line in client.get("/metrics").text.splitlines():
                if line.startswith("orderstate_event_waiters ") and float(line.split()[1]) >= count:
                    return
            time.sleep(0.05)


def waiters(url):
    threads, reserve = 32, 4
    env = app_env(url, GUNICORN_WORKERS="1", GUNICORN_THREADS=str(threads))
    env.pop("ORDERSTATE_EVENT_WAITERS", None)
    key = prepare(env)
    held = threads - reserve
    with tempfile.TemporaryDirectory() as scratch:
        with gunicorn(env, Path(scratch) / "w.log") as server:
            idle50, idle99 = summary(plain_get_latencies(server.base, key))
            statuses = []
            waiting = hold_waiters(server.base, key, held, 15, statuses)
            until_waiting(server.base, key, held)
            busy50, busy99 = summary(plain_get_latencies(server.base, key))
            extra = hold_waiters(server.base, key, 12, 8, statuses)
            for thread in extra:
                thread.join()
            turned_away = statuses.count(503)
            full50, full99 = summary(plain_get_latencies(server.base, key))
            for thread in waiting:
                thread.join()
        unreserved = {**env, "ORDERSTATE_EVENT_WAITERS": str(threads)}
        with gunicorn(unreserved, Path(scratch) / "u.log") as server:
            blocking = hold_waiters(server.base, key, threads - 1, 5, [])
            until_waiting(server.base, key, threads - 1)  # /metrics needs the last thread
            blocking += hold_waiters(server.base, key, 1, 5, [])
            time.sleep(0.5)
            (starved,) = plain_get_latencies(server.base, key, count=1, warm_up=False)
            for thread in blocking:
                thread.join()
    print(
        f"one worker, {threads} threads: GET p50/p99 {idle50:.1f}/{idle99:.1f} ms with no long "
        f"poll; {busy50:.1f}/{busy99:.1f} ms with {held} waiting; {full50:.1f}/{full99:.1f} ms "
        f"with 12 more turned away ({turned_away} answered 503); without the reserve of "
        f"{reserve}, behind {threads} waiting: {starved:.0f} ms"
    )
    record(
        "Long polls one worker lets wait (32 threads)", held, "", f"{reserve} threads kept", None
    )
    record(f"GET p99, {held} long polls on its worker", busy99, "ms", f"{idle99:.1f} ms idle", None)
    record("Long polls turned away past the limit (of 12)", turned_away, "", None, "= 12")
    record(f"GET, all {threads} threads long-polling", starved, "ms", f"{idle99:.1f} ms idle", None)


# -- 3. what the NOTIFY trigger costs writers ---------------------------------------------

WRITERS = 4
WRITE_SECONDS = 4.0


def registrations(env, tag, seconds, counts):
    """Register buys through the manager for `seconds`, one transaction and event each."""
    django_in_this_process(env)
    from orderstate.manager import OrderStateManager

    manager = OrderStateManager(source="api")
    deadline, done = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        manager.register_buy_order("BENCH-EQ", f"R-{tag}-{done}", "100.00", 1)
        done += 1
    counts.put(done)


def writes_per_second(env, tag):
    counts = FORK.Queue()
    processes = [
        FORK.Process(target=registrations, args=(env, f"{tag}{n}", WRITE_SECONDS, counts))
        for n in range(WRITERS)
    ]
    for process in processes:
        process.start()
    total = sum(counts.get(timeout=60 + WRITE_SECONDS) for _ in processes)
    for process in processes:
        process.join()
    return total / WRITE_SECONDS


def notify_cost(url, rounds=3):
    """Registrations/s from WRITERS processes with the trigger and without it, alternating
    `rounds` times (the machine drifts); the medians."""
    import psycopg

    env = app_env(url)
    prepare(env)
    rates = {"ENABLE": [], "DISABLE": []}
    with psycopg.connect(url, autocommit=True) as admin:
        for number in range(rounds):
            for switch in rates:
                admin.execute(
                    f"ALTER TABLE orderstate_orderevent {switch} TRIGGER orderstate_event_committed"
                )
                rates[switch].append(writes_per_second(env, f"{switch[0]}{number}"))
        admin.execute("ALTER TABLE orderstate_orderevent ENABLE TRIGGER orderstate_event_committed")
    notifying, without = (sorted(rates[key])[rounds // 2] for key in ("ENABLE", "DISABLE"))
    print(
        f"PG registrations/s, {WRITERS} writer processes, {rounds} rounds: with the NOTIFY "
        f"trigger {', '.join(f'{r:.0f}' for r in rates['ENABLE'])}; without it "
        f"{', '.join(f'{r:.0f}' for r in rates['DISABLE'])}"
    )
    record(
        "Events PG: registrations/s with NOTIFY (median)",
        notifying,
        "/s",
        f"{without:.0f}/s without",
        None,
    )


def main():
    print(
        f"== bench_events: {BOTS} bots, {FILLS} fills {GAP} s apart, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with scratch_postgres(ADMIN_URL, "events") as url:
        latency("PG", app_env(url, DATABASE_POOL_SIZE=POOL_SIZE), url)
        waiters(url)
        notify_cost(url)
    with tempfile.TemporaryDirectory() as scratch:
        latency("SQLite", app_env(f"sqlite:///{Path(scratch) / 'events.sqlite3'}"))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
