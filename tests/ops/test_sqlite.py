"""SQLite as the database: concurrent writers queue up and all land (WAL, IMMEDIATE
transactions, busy timeout); a database that cannot write (read-only file, full disk)
fails with a clear error and no partial write."""

import threading

import pytest
from django.db import OperationalError, connection

from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, Order, OrderEvent, Trade

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite faults")


def pragma(statement):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {statement}")
        return cursor.fetchone()


@pytest.fixture
def read_only_database(sqlite):
    # query_only makes SQLite refuse every write as a read-only file does
    # (SQLITE_READONLY); chmod would not stop the root user the tests may run as.
    pragma("query_only = ON")
    yield
    pragma("query_only = OFF")


@pytest.fixture
def full_disk(sqlite):
    # The file may not grow past its current pages: SQLITE_FULL, as on a full disk.
    pages = pragma("page_count")[0]
    default = pragma("max_page_count")[0]
    pragma(f"max_page_count = {pages}")
    yield
    pragma(f"max_page_count = {default}")


def test_registration_on_a_read_only_database_fails_clearly(read_only_database):
    with pytest.raises(OperationalError, match="readonly database"):
        OrderStateManager().register_sell_order("RELIANCE", "RO-1", "2500", 10)


def test_read_only_failure_leaves_nothing_written(sqlite):
    manager = OrderStateManager()
    manager.register_buy_order("TCS", "BUY-1", "3500", 4)
    pragma("query_only = ON")
    try:
        with pytest.raises(OperationalError):
            manager.record_fill("BUY-1", 2, "3500", fill_id="F1")
    finally:
        pragma("query_only = OFF")
    order = Order.objects.get(broker_order_id="BUY-1")
    assert (order.filled_quantity, order.status, order.version) == (0, "PENDING", 1)
    assert not Trade.objects.exists()
    assert OrderEvent.objects.count() == 1


def test_registration_on_a_full_disk_fails_clearly_and_writes_nothing(full_disk):
    before = (Order.objects.count(), OrderEvent.objects.count())
    with pytest.raises(OperationalError, match="database or disk is full"):
        OrderStateManager().register_sell_order("INFY", "FULL-1", "1500", 10, note="x" * 200_000)
    assert (Order.objects.count(), OrderEvent.objects.count()) == before


@pytest.mark.django_db(transaction=True)
def test_ten_threads_register_ten_symbols_on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite writer queue (WAL, IMMEDIATE, busy timeout)")
    barrier = threading.Barrier(10)
    errors = []

    def register(index):
        try:
            barrier.wait(timeout=30)
            OrderStateManager().register_sell_order(f"THREAD{index}", f"T-{index}", "99.95", 1)
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert Order.objects.count() == 10
    assert OrderEvent.objects.filter(kind=EventKind.REGISTERED).count() == 10
