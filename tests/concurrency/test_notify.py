"""Two deliverers in two processes on PostgreSQL share one outbox: each message is sent once
(`FOR UPDATE SKIP LOCKED` claims and leases), and both really send at the same time."""

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from orderstate.manager import OrderStateManager
from orderstate.models import Delivery, OutboxMessage
from orderstate.notify.deliverer import Deliverer
from tests.concurrency.test_manager import in_processes
from tests.notify.helpers import webhook
from tests.notify.receivers import Answer, Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MESSAGES = 120
CONCURRENCY = 4


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("deliverers on several hosts need PostgreSQL")


class OverlapGate:
    """Holds the first requests until more are in flight than one deliverer can send at once,
    so the test only passes when both deliverers send side by side."""

    def __init__(self, needed):
        self.needed = needed
        self.condition = threading.Condition()
        self.in_flight = self.most = 0
        self.opened = False

    def respond(self, request):
        with self.condition:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            if self.in_flight >= self.needed:
                self.opened = True
                self.condition.notify_all()
            self.condition.wait_for(lambda: self.opened, timeout=30)
            self.in_flight -= 1
        return Answer(204)


def deliver_until_empty(index):
    deliverer = Deliverer(concurrency=CONCURRENCY)
    delivered = 0
    try:
        while OutboxMessage.objects.pending().exists():
            counts = deliverer.deliver_due()
            delivered += counts["delivered"]
            if not counts["claimed"]:
                time.sleep(0.05)  # the other deliverer holds what is left
    finally:
        deliverer.close()
    return delivered


def test_two_deliverers_send_each_message_once_and_side_by_side(postgres):
    gate = OverlapGate(needed=CONCURRENCY + 1)
    with Receiver(gate.respond) as receiver:
        webhook(receiver.url, kinds=["fill", "executed"])
        bot = OrderStateManager(source="api")
        bot.register_buy_order("TCS-EQ", "B-1", "3900.00", MESSAGES)
        for index in range(MESSAGES):
            bot.record_fill("B-1", 1, "3900.00", fill_id=f"f{index}")

        outcomes = in_processes(deliver_until_empty, 2)

    sent = Counter(int(request.headers["X-Orderstate-Event-Id"]) for request in receiver.requests)
    assert gate.most > CONCURRENCY, "the two deliverers never sent at the same time"
    assert sorted(sent) == sorted(OutboxMessage.objects.values_list("event_id", flat=True))
    assert set(sent.values()) == {1}, "a message was sent twice"
    assert len(sent) == MESSAGES
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Delivery.DELIVERED}
    assert sum(delivered for _, delivered in outcomes) == MESSAGES
    assert all(delivered > 0 for _, delivered in outcomes)
