"""The database goes away during a registration: the API answers 503, the bot's client retries,
and idempotency leaves exactly one order, whether the lost attempt wrote nothing or everything.

End to end: a live server, the real middleware and views, and `OrderStateClient`.
"""

import pytest
from django.db import OperationalError

from orderstate.client import OrderStateClient, ServiceUnavailable
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, Order, OrderEvent
from orderstate.models.auth import ApiToken


@pytest.fixture
def delays():
    return []


@pytest.fixture
def bot_client(live_server, trader, delays):
    _, key = ApiToken.issue(trader, name="bot")
    with OrderStateClient(live_server.url, key, timeout=10, sleep=delays.append) as client:
        yield client


@pytest.fixture
def outage(monkeypatch):
    """Make the next registration lose its database connection, before or after its commit."""
    register = OrderStateManager.register_or_get
    attempts = []

    def arm(when):
        def register_then_fail(manager, *args, **kwargs):
            attempts.append(when)
            if len(attempts) > 1:
                return register(manager, *args, **kwargs)
            if when == "after_commit":
                register(manager, *args, **kwargs)
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(OrderStateManager, "register_or_get", register_then_fail)
        return attempts

    return arm


@pytest.mark.parametrize("when", ["before_write", "after_commit"])
def test_registration_retried_after_a_503_leaves_exactly_one_order(
    bot_client, outage, delays, when
):
    attempts = outage(when)

    order = bot_client.register_sell_order("RELIANCE-EQ", "S-1", "2500.00", 10, "RELIANCE.NS")

    assert len(attempts) == 2  # the lost attempt, then the retry
    assert delays == [4.0]  # Retry-After 5 from the 503, capped by the client's max_backoff
    assert (order.broker_order_id, order.status, order.price) == ("S-1", "PENDING", 2500)
    stored = Order.objects.get()
    assert stored.broker_order_id == "S-1" and stored.version == 1
    registered = OrderEvent.objects.filter(order=stored, kind=EventKind.REGISTERED)
    assert registered.count() == 1
    assert OrderEvent.objects.count() == 1


def test_registration_is_not_retried_forever_while_the_database_stays_down(
    bot_client, monkeypatch, delays
):
    def always_down(manager, *args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(OrderStateManager, "register_or_get", always_down)

    with pytest.raises(ServiceUnavailable):
        bot_client.register_sell_order("RELIANCE-EQ", "S-1", "2500.00", 10)

    assert len(delays) == bot_client.retries
    assert not Order.objects.exists()
