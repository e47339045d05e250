"""API throughput and latency through gunicorn on PostgreSQL, 8 bot clients at once.

Starts gunicorn with the project's gunicorn.conf.py (GUNICORN_WORKERS and
GUNICORN_THREADS apply) on a free 127.0.0.1 port, against a scratch database
created beside BENCH_DATABASE_URL's server and dropped afterwards. Each bot
client registers an order, sends two fills and executes it, BUY then SELL on its
own symbol, for a fixed time. Printed next to the same stack's `/healthz`
throughput with the same clients (the ceiling: routing, middleware, one query).

    SECRET_KEY=x DEBUG=false .venv/bin/python tests/bench/bench_api_load.py
    BENCH_API_SECONDS=30 BENCH_API_CLIENTS=8 BENCH_API_CLIENT_MODE=process|thread

Targets: at least 250 writes/s, p99 under 200 ms, no errors.
"""

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.engines import scratch_postgres  # noqa: E402
from tests.bench.results import record  # noqa: E402
from tests.servers import wait_until_up  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "8"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "20"))
CEILING_SECONDS = float(os.environ.get("BENCH_API_CEILING_SECONDS", "8"))
CLIENT_MODE = os.environ.get("BENCH_API_CLIENT_MODE", "process")
QUANTITY = 10
FILLS = (3, 3)  # two partial fills, then execute completes the remaining 4


# -- the scratch database ------------------------------------------------------


def app_env(database_url, **extra):
    env = {**os.environ, "DATABASE_URL": database_url, **extra}
    env.setdefault("SECRET_KEY", "bench-only-secret")
    env["DEBUG"] = "false"
    env["ALLOWED_HOSTS"] = "127.0.0.1"
    return env


def manage(env, *args):
    """Run a management command; return its stdout."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def prepare(env):
    """Migrate, collect static files (as `make serve`), return a read-write API key for a bot."""
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    return manage(env, "create_api_token", "loadbot", "--name", "load").strip().splitlines()[-1]


# -- gunicorn ------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str
    pid: int

    def cpu_seconds(self):
        """CPU used so far by gunicorn: the master, its live workers and those it reaped."""
        total = _cpu_seconds(self.pid, children_too=True)
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return total + sum(_cpu_seconds(int(child)) for child in children)


def _cpu_seconds(pid, children_too=False):
    """utime + stime of a process (and of its reaped children) from /proc, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children_too:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(database_url):
    """CPU used so far by the PostgreSQL backends serving `database_url`'s database."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        pids = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return sum(_cpu_seconds(pid) for (pid,) in pids)


@contextmanager
def gunicorn(env, access_log):
    """Serve the app with gunicorn.conf.py on 127.0.0.1; yield a Server; stop it."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access_log),
            "--error-logfile",
            str(Path(access_log).with_suffix(".err")),
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        yield Server(base, server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def status_counts(access_log):
    """Responses by status code, from gunicorn's access log (format in gunicorn.conf.py)."""
    counts = {}
    for line in Path(access_log).read_text().splitlines():
        parts = line.split('" ')
        if len(parts) > 1 and parts[1][:3].isdigit():
            counts[int(parts[1][:3])] = counts.get(int(parts[1][:3]), 0) + 1
    return counts


# -- the bot clients -----------------------------------------------------------


@dataclass
class Tally:
    """What one client did: latencies of writes, errors, lost races, fills acknowledged."""

    writes: list = field(default_factory=list)  # seconds per acknowledged write
    errors: list = field(default_factory=list)
    lost_races: int = 0
    acked_fills: dict = field(default_factory=dict)  # broker_order_id -> quantity
    executed: list = field(default_factory=list)  # broker_order_ids the bot executed
    registered: list = field(default_factory=list)
    cycles: int = 0

    def merge(self, other):
        self.writes += other.writes
        self.errors += other.errors
        self.lost_races += other.lost_races
        self.acked_fills |= other.acked_fills
        self.executed += other.executed
        self.registered += other.registered
        self.cycles += other.cycles


class LostRace(Exception):
    """The sync moved the order first (409 invalid_transition): not an error."""


class Bot:
    """One trading bot: BUY then SELL on its own symbol, each register, 2 fills, execute."""

    def __init__(self, base, key, number, tag):
        self.client = httpx.Client(
            base_url=f"{base}/api/v1",
            headers={"Authorization": f"Token {key}"},
            timeout=30,
        )
        self.symbol = f"LD{tag}N{number}"
        self.prefix = f"{tag}-{number}"
        self.tally = Tally()

    def run(self, deadline):
        cycle = 0
        while time.monotonic() < deadline:
            for side, price in (("BUY", "100.00"), ("SELL", "101.00")):
                self.order(f"{self.prefix}-{cycle}-{side[0]}", side, price)
            cycle += 1
        self.tally.cycles = cycle
        self.client.close()
        return self.tally

    def order(self, order_id, side, price):
        body = {
            "broker_order_id": order_id,
            "symbol": self.symbol,
            "side": side,
            "quantity": QUANTITY,
            "price": price,
        }
        try:
            self.write("/orders/", body)
            self.tally.registered.append(order_id)
            for number, qty in enumerate(FILLS):
                fill = {"quantity": qty, "price": price, "fill_id": f"{order_id}-f{number}"}
                self.write(f"/orders/{order_id}/fills/", fill)
                self.tally.acked_fills[order_id] = self.tally.acked_fills.get(order_id, 0) + qty
            self.write(f"/orders/{order_id}/execute/", {"price": price})
            self.tally.executed.append(order_id)
        except LostRace:
            self.tally.lost_races += 1
        except Failed:
            pass

    def write(self, path, body):
        started = time.perf_counter()
        try:
            response = self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            self.tally.errors.append(f"POST {path}: {type(exc).__name__} {exc}")
            raise Failed from exc
        elapsed = time.perf_counter() - started
        if response.status_code == 409 and _code(response) == "invalid_transition":
            raise LostRace
        if response.status_code >= 300:
            self.tally.errors.append(f"POST {path}: {response.status_code} {response.text[:200]}")
            raise Failed
        self.tally.writes.append(elapsed)


class Failed(Exception):
    """A write failed (already counted as an error); the rest of that order is skipped."""


def _code(response):
    try:
        return response.json().get("code") or response.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        return None


def _bot_process(base, key, number, tag, deadline_in, queue):
    queue.put(Bot(base, key, number, tag).run(time.monotonic() + deadline_in))


def run_bots(base, key, seconds, clients=CLIENTS, mode=CLIENT_MODE, tag="A"):
    """Run `clients` bots for `seconds`; return (merged Tally, wall seconds)."""
    started = time.monotonic()
    if mode == "thread":
        bots = [Bot(base, key, number, tag) for number in range(clients)]
        tallies = []
        threads = [
            threading.Thread(target=lambda b=bot: tallies.append(b.run(started + seconds)))
            for bot in bots
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        processes = [
            context.Process(target=_bot_process, args=(base, key, number, tag, seconds, queue))
            for number in range(clients)
        ]
        for process in processes:
            process.start()
        tallies = [queue.get() for _ in processes]
        for process in processes:
            process.join()
    wall = time.monotonic() - started
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total, wall


def _healthz_client(base, deadline, counts):
    ok = failed = 0
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline:
            try:
                if client.get("/healthz").status_code == 200:
                    ok += 1
                else:
                    failed += 1
            except httpx.HTTPError:
                failed += 1
    counts.put((ok, failed))


def healthz_ceiling(base, seconds, clients=CLIENTS):
    """Requests/s of GET /healthz with the same number of client processes."""
    context = multiprocessing.get_context("fork")
    counts = context.Queue()
    started = time.monotonic()
    processes = [
        context.Process(target=_healthz_client, args=(base, started + seconds, counts))
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    results = [counts.get() for _ in processes]
    for process in processes:
        process.join()
    wall = time.monotonic() - started
    return sum(ok for ok, _ in results) / wall, sum(failed for _, failed in results)


def client_cpu_seconds():
    """CPU of this process and its finished children (the bot processes, once joined)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def cpu_per_write(before, after, writes):
    """Print and return CPU ms per write: gunicorn, PostgreSQL backends, bot clients."""
    server, database, clients = (
        (b - a) * 1000 / max(writes, 1) for a, b in zip(before, after, strict=True)
    )
    busy = server + database + clients
    print(
        f"CPU per write: gunicorn {server:.1f} ms, PostgreSQL backends {database:.1f} ms, "
        f"bot clients {clients:.1f} ms; {busy:.1f} ms in all, so {os.cpu_count()} idle CPUs "
        f"would top out near {os.cpu_count() * 1000 / busy:.0f} writes/s"
    )
    return server, database, clients


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(tally, wall, label="API load"):
    """Print and return (writes/s, p50, p95, p99 in ms)."""
    per_second = len(tally.writes) / wall
    p50, p95, p99 = (percentile(tally.writes, q) * 1000 for q in (0.50, 0.95, 0.99))
    print(
        f"{label}: {len(tally.writes)} writes in {wall:.1f} s = {per_second:.0f} writes/s; "
        f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms; "
        f"errors {len(tally.errors)}; lost races {tally.lost_races}; "
        f"orders {len(tally.registered)}"
    )
    for error in tally.errors[:5]:
        print(f"  error: {error}")
    return per_second, p50, p95, p99


def main():
    workers = os.environ.get("GUNICORN_WORKERS", "default")
    threads = os.environ.get("GUNICORN_THREADS", "default")
    print(
        f"== bench_api_load: {CLIENTS} {CLIENT_MODE} clients, {SECONDS:.0f} s, gunicorn "
        f"workers={workers} threads={threads}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with (
        scratch_postgres(ADMIN_URL, "api_load") as url,
        tempfile.TemporaryDirectory() as scratch,
    ):
        env = app_env(url)
        key = prepare(env)
        access_log = Path(scratch) / "access.log"
        with gunicorn(env, access_log) as server:
            ceiling, ceiling_failed = healthz_ceiling(server.base, CEILING_SECONDS)
            print(f"ceiling: GET /healthz {ceiling:.0f} requests/s ({ceiling_failed} failed)")
            before = server.cpu_seconds(), database_cpu_seconds(url), client_cpu_seconds()
            tally, wall = run_bots(server.base, key, SECONDS)
            after = server.cpu_seconds(), database_cpu_seconds(url), client_cpu_seconds()
        per_second, p50, p95, p99 = report(tally, wall)
        cpu = cpu_per_write(before, after, len(tally.writes))
        server_errors = sum(n for status, n in status_counts(access_log).items() if status >= 500)
        print(f"5xx responses in the access log: {server_errors}")
    print(
        f"targets: >= 250 writes/s ({'met' if per_second >= 250 else 'missed'}), "
        f"p99 < 200 ms ({'met' if p99 < 200 else 'missed'}), "
        f"0 errors ({'met' if not tally.errors and not server_errors else 'missed'})"
    )
    ceiling_row = f"{ceiling:.0f} req/s /healthz"
    record("API writes/s, gunicorn+PG, 8 clients", per_second, "/s", ceiling_row, ">= 250")
    record("API write latency p50", p50, "ms", None, None)
    record("API write latency p95", p95, "ms", None, None)
    record("API write latency p99", p99, "ms", None, "< 200")
    record("API errors (incl. 5xx)", len(tally.errors) + server_errors, "", None, "= 0")
    record("API CPU per write: gunicorn", cpu[0], "ms", None, None)
    record("API CPU per write: PostgreSQL backends", cpu[1], "ms", None, None)


if __name__ == "__main__":
    main()
