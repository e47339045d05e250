"""A real `manage.py sync_broker` process killed with SIGKILL half-way through a run.

The broker (tests/blocking_broker.py) stops the process inside the transaction of
a batch, after one order's row and event are written but before the commit.
After the kill every order must be whole: fully executed (status, fills, events
and trade together) or untouched. The lock must not outlive the process, the
cut-off run must be closed as failed, and the next run must finish the job.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from orderstate.brokers.replay import ReplayBroker
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, InstanceLock, Order, SyncOutcome, SyncRun, Trade
from orderstate.states import Status
from orderstate.sync import run as sync
from tests import kotak_book
from tests.blocking_broker import BLOCK_AT_ENV, SIGNAL_DIR_ENV
from tests.databases import database_url
from tests.paths import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = 8
BLOCK_AT = 4
# Orders per sync transaction: the first batch of 3 commits, and the process is
# killed inside the second (orders 4 to 6), which must vanish whole.
BATCH = 3
SYMBOLS = [f"STOCK{index}" for index in range(ORDERS)]


@pytest.fixture
def bought_book(tmp_path):
    """Eight open buys in the database; a book where the broker executed all of them."""
    manager = OrderStateManager(source="bot")
    rows = []
    for index, symbol in enumerate(SYMBOLS):
        order_id = f"2406{index:08d}"
        manager.register_buy_order(f"{symbol}-EQ", order_id, "100.00", 10, f"{symbol}.NS")
        rows.append(kotak_book.row(order_id, symbol, "B", "complete", 10, 10, "100.00", "100.00"))
    path = tmp_path / "book.json"
    path.write_text(json.dumps(kotak_book.book(*rows)))
    return path


def start_blocked_sync(book, signal_dir):
    """A `sync_broker` process, returned once it is blocked inside an order's transaction."""
    env = {
        **os.environ,
        "SECRET_KEY": "x",
        "DEBUG": "false",
        "DATABASE_URL": database_url(),
        "ORDERSTATE_BROKER": "tests.blocking_broker.BlockingBroker",
        "ORDERSTATE_REPLAY_FILE": str(book),
        BLOCK_AT_ENV: str(BLOCK_AT),
        "ORDERSTATE_SYNC_BATCH_SIZE": str(BATCH),
        SIGNAL_DIR_ENV: str(signal_dir),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sync_broker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    blocked = signal_dir / "blocked.json"
    deadline = time.monotonic() + 60
    while not blocked.exists():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"sync_broker ended before blocking ({process.returncode}): {err.decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("sync_broker did not reach the blocking order in 60 s")
        time.sleep(0.05)
    return process, json.loads(blocked.read_text())


def kill(process):
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def wait_for_backend_to_end(backend_pid):
    """The server notices the closed socket and ends the session (rolling it back) at once."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend_pid])
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)
    pytest.fail(f"backend {backend_pid} of the killed process is still alive after 10 s")


def assert_each_order_whole():
    """Every order fully executed (events and trade with it) or exactly as registered."""
    executed = []
    for order in Order.objects.order_by("broker_order_id"):
        kinds = sorted(order.events.values_list("kind", flat=True))
        trades = Trade.objects.filter(symbol=order.base_symbol)
        if order.status == Status.EXECUTED:
            assert order.filled_quantity == 10
            assert kinds == sorted(
                [EventKind.REGISTERED, EventKind.EXECUTED, EventKind.TRADE_OPENED]
            )
            assert order.trade is not None
            assert trades.count() == 1 and trades.get().quantity == 10
            executed.append(order.broker_order_id)
        else:
            assert order.status == Status.PENDING
            assert order.filled_quantity == 0 and order.average_price is None
            assert kinds == [EventKind.REGISTERED]
            assert order.trade is None and not trades.exists()
            assert order.version == 1
    return executed


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
def test_killed_sync_leaves_orders_whole_and_frees_the_lock_on_postgresql(bought_book, tmp_path):
    process, blocked = start_blocked_sync(bought_book, tmp_path)
    kill(process)
    wait_for_backend_to_end(blocked["backend_pid"])

    executed = assert_each_order_whole()
    assert len(executed) == BATCH
    assert blocked["order_id"] not in executed
    cut_off = SyncRun.objects.get()
    assert cut_off.outcome == SyncOutcome.RUNNING

    run = sync.run_sync(broker=ReplayBroker(bought_book))

    assert run.outcome == SyncOutcome.OK, run.error
    assert run.stats["executed"] == ORDERS - len(executed)
    cut_off.refresh_from_db()
    assert cut_off.outcome == SyncOutcome.FAILED
    assert "abandoned" in cut_off.error and cut_off.finished_at is not None
    assert len(assert_each_order_whole()) == ORDERS


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the lock row is SQLite's")
def test_killed_sync_leaves_orders_whole_and_its_lock_row_expires_on_sqlite(bought_book, tmp_path):
    process, blocked = start_blocked_sync(bought_book, tmp_path)
    kill(process)

    executed = assert_each_order_whole()
    assert len(executed) == BATCH
    assert blocked["order_id"] not in executed
    # The dead process's lock row stays until it is older than the TTL.
    assert sync.run_sync(broker=ReplayBroker(bought_book)).outcome == SyncOutcome.SKIPPED
    InstanceLock.objects.filter(name=sync.LOCK_NAME).update(
        acquired_at=timezone.now() - timedelta(seconds=settings.ORDERSTATE_LOCK_TTL_SECONDS + 1)
    )

    run = sync.run_sync(broker=ReplayBroker(bought_book))

    assert run.outcome == SyncOutcome.OK, run.error
    assert run.stats["executed"] == ORDERS - len(executed)
    cut_off = SyncRun.objects.exclude(outcome__in=[SyncOutcome.OK, SyncOutcome.SKIPPED]).get()
    assert cut_off.outcome == SyncOutcome.FAILED and "abandoned" in cut_off.error
    assert len(assert_each_order_whole()) == ORDERS
    assert not InstanceLock.objects.filter(name=sync.LOCK_NAME).exists()
