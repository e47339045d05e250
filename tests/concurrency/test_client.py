"""Bots racing through OrderStateClient against a live server (PostgreSQL).

One registration wins, every fill counts once, retries included.
"""

import threading

import pytest
from django.db import connection

from orderstate.client import OrderStateClient
from orderstate.models import Order
from orderstate.models.auth import ApiToken


@pytest.mark.postgres
def test_end_to_end_clients_in_threads_register_once_and_count_every_fill(live_server, trader):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for truly concurrent writers")

    _, key = ApiToken.issue(trader)
    threads = 6
    barrier = threading.Barrier(threads)
    results, failures = [], []

    def bot(n):
        try:
            with OrderStateClient(live_server.url, key, timeout=30) as client:
                barrier.wait()
                order = client.register_buy_order("INFY", "B-RACE", "1500.00", 60)
                barrier.wait()
                results.append((order.broker_order_id, order.version))
                client.record_fill("B-RACE", 10, "1500.00", fill_id=f"T{n}")
                client.record_fill("B-RACE", 10, "1500.00", fill_id=f"T{n}")  # a retry
        except Exception as exc:  # collected, so the assertion names it
            failures.append(exc)

    workers = [threading.Thread(target=bot, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert results == [("B-RACE", 1)] * threads
    order = Order.objects.get(broker_order_id="B-RACE")
    assert (order.status, order.filled_quantity) == ("EXECUTED", 60)
    assert order.fills.count() == threads
    assert order.events.filter(kind="registered").count() == 1
