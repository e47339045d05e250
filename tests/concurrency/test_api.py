"""Requests that race through the API: the database decides, exactly one wins (PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections

from orderstate.models import Order, OrderEvent
from tests.api.bodies import SELL, register
from tests.clients import api_client_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and unique-violation races need PostgreSQL")


def collide(user, request, count=4):
    """Run `request(client)` in `count` threads released together; their status codes."""
    barrier = threading.Barrier(count)
    statuses = []

    def run(client):
        try:
            barrier.wait()
            statuses.append(request(client).status_code)
        finally:
            connections.close_all()

    clients = [api_client_for(user) for _ in range(count)]
    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_identical_registrations_racing_make_one_order(trader):
    def request(client):
        return register(client)

    assert collide(trader, request) == [200, 200, 200, 201]
    assert Order.objects.count() == 1
    assert OrderEvent.objects.filter(kind="registered").count() == 1


def test_price_updates_with_the_same_if_match_racing_one_wins(trader):
    register(api_client_for(trader))
    url = f"/api/v1/orders/{SELL['broker_order_id']}/"

    def request(client):
        price = f"{2600 + threading.get_ident() % 50}.00"
        return client.patch(url, {"price": price}, format="json", HTTP_IF_MATCH='"1"')

    assert collide(trader, request) == [200, 412, 412, 412]
    assert Order.objects.get().version == 2


def test_fills_with_the_same_fill_id_racing_apply_once(trader):
    register(api_client_for(trader))
    url = f"/api/v1/orders/{SELL['broker_order_id']}/fills/"

    def request(client):
        return client.post(url, {"quantity": 3, "price": "2500.00", "fill_id": "T1"}, format="json")

    assert collide(trader, request) == [200, 200, 200, 200]
    assert Order.objects.get().filled_quantity == 3
