"""Races through the manager on PostgreSQL: the database keeps the invariants.

Each child is a forked process with its own database connection, as gunicorn
workers and the sync worker are; the failed-buy queue is raced from threads, as a
bot's do. A barrier makes them start together.
"""

import multiprocessing
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from orderstate.errors import DuplicateOrder, InvalidTransition
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, FailedOrder, FailedOrderStatus, Fill, Order, OrderEvent
from orderstate.states import ACTIVE, Status

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("multi-process races need PostgreSQL")


def _child(work, index, barrier, results):
    # The parent closed its connections before forking; make sure this process
    # opens its own rather than sharing a socket with the parent.
    connections.close_all()
    try:
        barrier.wait(timeout=60)
        results.put((index, "ok", work(index)))
    except (DuplicateOrder, InvalidTransition) as exc:
        results.put((index, type(exc).__name__, str(exc)))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put((index, "crash", repr(exc)))
    finally:
        connections.close_all()


def in_processes(work, count):
    """Run `work(index)` in `count` processes at once; returns [(outcome, value)] by index."""
    connections.close_all()
    barrier = FORK.Barrier(count)
    results = FORK.Queue()
    children = [
        FORK.Process(target=_child, args=(work, index, barrier, results)) for index in range(count)
    ]
    for child in children:
        child.start()
    collected = dict((index, rest) for index, *rest in (results.get(timeout=300) for _ in children))
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    outcomes = [tuple(collected[index]) for index in range(count)]
    assert not [o for o in outcomes if o[0] == "crash"], outcomes
    return outcomes


def register_250_sells(index):
    manager = OrderStateManager()
    for number in range(250):
        manager.register_sell_order(f"P{index}S{number}-EQ", f"{index}-{number}", "101.50", 5)
    return 250


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_processes_register_1000_orders_each_with_one_event(postgres):
    outcomes = in_processes(register_250_sells, 4)
    assert outcomes == [("ok", 250)] * 4
    assert Order.objects.count() == 1000
    assert OrderEvent.objects.filter(kind=EventKind.REGISTERED).count() == 1000
    assert Order.objects.filter(status=Status.PENDING, version=1).count() == 1000


def record_25_fills(index):
    manager = OrderStateManager()
    for number in range(25):
        manager.record_fill("BIG-1", 1, "250.00", fill_id=f"{index}-{number}")
    return 25


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fills_from_four_processes_add_up_to_the_order(postgres):
    OrderStateManager().register_buy_order("TCS", "BIG-1", "250.00", 100)
    outcomes = in_processes(record_25_fills, 4)
    assert outcomes == [("ok", 25)] * 4
    order = Order.objects.get(broker_order_id="BIG-1")
    assert order.filled_quantity == 100
    assert order.status == Status.EXECUTED
    assert order.version == 101
    assert Fill.objects.filter(order=order).count() == 100
    assert order.trade.quantity == 100
    assert order.events.filter(kind__in=[EventKind.FILL, EventKind.EXECUTED]).count() == 100


def register_infy_sell(index):
    return OrderStateManager().register_sell_order("INFY", f"SELL-{index}", "1500", 10).pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_active_sells_for_one_symbol_one_wins(postgres):
    outcomes = in_processes(register_infy_sell, 2)
    kinds = sorted(outcome for outcome, _ in outcomes)
    assert kinds == ["DuplicateOrder", "ok"]
    assert "already has an active sell order" in next(v for o, v in outcomes if o != "ok")
    assert Order.objects.filter(base_symbol="INFY", status__in=ACTIVE).count() == 1
    assert Order.objects.count() == 1
    assert OrderEvent.objects.count() == 1


def register_same_order(index):
    return OrderStateManager().register_sell_order("HDFCBANK", "SAME-1", "1650.25", 3).pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_order_id_from_four_processes_is_one_row(postgres):
    outcomes = in_processes(register_same_order, 4)
    pk = Order.objects.get(broker_order_id="SAME-1").pk
    assert outcomes == [("ok", pk)] * 4
    assert Order.objects.count() == 1
    assert OrderEvent.objects.filter(kind=EventKind.REGISTERED).count() == 1


def replace_wipro_sell(index):
    manager = OrderStateManager()
    return manager.register_sell_order("WIPRO", f"NEW-{index}", "480", 7, replace=True).pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_replacements_leave_one_active_sell_and_a_consistent_chain(postgres):
    original = OrderStateManager().register_sell_order("WIPRO", "OLD-1", "470", 7)
    outcomes = in_processes(replace_wipro_sell, 4)
    assert {outcome for outcome, _ in outcomes} <= {"ok", "DuplicateOrder"}
    winners = [pk for outcome, pk in outcomes if outcome == "ok"]
    assert winners
    active = Order.objects.get(base_symbol="WIPRO", status__in=ACTIVE)
    assert active.pk in winners
    original.refresh_from_db()
    assert original.status == Status.CANCELLED
    # Every successful registration replaced exactly one predecessor.
    assert OrderEvent.objects.filter(kind=EventKind.REPLACED).count() == len(winners)
    assert Order.objects.filter(base_symbol="WIPRO").count() == len(winners) + 1
    assert Order.objects.filter(status=Status.CANCELLED).count() == len(winners)


def cancel_or_execute(index):
    manager = OrderStateManager()
    if index == 0:
        return manager.cancel_order("RACE-1", reason="operator stopped it").status
    return manager.mark_order_executed("SBIN", "RACE-1", "812.40").status


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_racing_execute_has_exactly_one_outcome(postgres):
    OrderStateManager().register_sell_order("SBIN", "RACE-1", "812.40", 20)
    outcomes = in_processes(cancel_or_execute, 2)
    winners = [value for outcome, value in outcomes if outcome == "ok"]
    losers = [outcome for outcome, _ in outcomes if outcome != "ok"]
    assert len(winners) == 1
    assert losers == ["InvalidTransition"]
    order = Order.objects.get(broker_order_id="RACE-1")
    assert order.status == winners[0]
    closing = order.events.filter(kind__in=[EventKind.CANCELLED, EventKind.EXECUTED])
    assert [event.to_status for event in closing] == [order.status]
    assert order.version == 2
    if order.status == Status.EXECUTED:
        assert (order.filled_quantity, order.average_price) == (20, Decimal("812.40"))
    else:
        assert order.filled_quantity == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_for_one_symbol_keep_one_entry():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    errors = []

    def fail_once(n):
        try:
            barrier.wait()
            OrderStateManager(source="bot").add_failed_order(
                "TCS-EQ", "TCS.NS", qty=5 + n, close=3890.0, reason=f"attempt {n}"
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=fail_once, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entry = FailedOrder.objects.get()
    assert entry.status == FailedOrderStatus.WAITING
    assert entry.retry_count == threads_count - 1
