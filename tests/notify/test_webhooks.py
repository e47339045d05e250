"""Webhooks over real HTTP to receivers on 127.0.0.1: signed, retried with backoff, bounded
in size and time, and never held up by another subscription's receiver."""

import hashlib
import hmac
import itertools
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import Delivery, EventKind, OrderEvent, OutboxMessage
from orderstate.notify.retry import retry_delay
from tests.notify.helpers import SECRET, deliver, executed_sell, webhook
from tests.notify.receivers import Answer, Receiver, closed_port

pytestmark = pytest.mark.django_db


def one_message():
    return OutboxMessage.objects.select_related("subscription").get()


def receiver_signature_check(secret, body, header):
    """What the README tells a receiver to do, line for line."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def test_an_event_is_posted_as_signed_json_with_its_id(manager):
    with Receiver() as receiver:
        subscription = webhook(f"{receiver.url}/orders", kinds=["executed"])
        order = executed_sell(manager)
        counts = deliver()

    assert counts["delivered"] == 2
    # Sent side by side, so in either order.
    sell = next(request for request in receiver.requests if request.json()["order"] == "S-1")
    document = sell.json()
    event = OrderEvent.objects.get(pk=document["id"])
    assert sell.path == "/orders"
    assert sell.headers["Content-Type"] == "application/json"
    assert sell.headers["X-Orderstate-Event-Id"] == str(event.pk)
    signed = sell.headers["X-Orderstate-Signature"]
    assert receiver_signature_check(SECRET, sell.body, signed)
    assert not receiver_signature_check("another-secret-entirely", sell.body, signed)
    assert document == {
        "id": event.pk,
        "at": timezone.localtime(event.at).isoformat(),
        "kind": "executed",
        "account": "default",
        "order": order.broker_order_id,
        "symbol": "RELIANCE",
        "from_status": "PENDING",
        "to_status": "EXECUTED",
        "source": "api",
        "actor": None,
        "data": {"execution_price": "2500.0000", "execution_qty": 10},
    }
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Delivery.DELIVERED}
    subscription.refresh_from_db()
    assert subscription.last_delivered_at is not None and subscription.consecutive_failures == 0


# The feed reads only what committed.
@pytest.mark.django_db(transaction=True)
def test_a_webhook_receives_what_the_event_feed_answers_for_the_event(manager, staff_client):
    with Receiver() as receiver:
        webhook(receiver.url, kinds=["executed"])
        executed_sell(manager)
        deliver()

    posted = sorted((request.json() for request in receiver.requests), key=lambda doc: doc["id"])
    feed = staff_client.get("/api/v1/events/", {"kind": "executed"}).json()["results"]
    assert posted == feed


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_delivered(manager, status):
    with Receiver(lambda request: Answer(status)) as receiver:
        webhook(receiver.url, kinds=["executed"])
        executed_sell(manager)
        deliver()

    assert OutboxMessage.objects.filter(status=Delivery.DELIVERED).count() == 2


def test_a_500_is_retried_later_with_backoff(manager, settings):
    settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS = 8
    with Receiver(lambda request: Answer(500, body=b"database is down")) as receiver:
        subscription = webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        before = timezone.now()
        counts = deliver()

    message = one_message()
    assert counts["failed"] == 1 and len(receiver.requests) == 1
    assert (message.status, message.attempts) == (Delivery.PENDING, 1)
    assert message.last_error == "HTTP 500: database is down"
    assert before + timedelta(seconds=4) <= message.next_attempt_at
    assert message.next_attempt_at <= timezone.now() + timedelta(seconds=8)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1 and subscription.paused_until is not None


def test_backoff_doubles_per_failure_up_to_its_cap(settings):
    settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS = 5
    settings.ORDERSTATE_NOTIFY_BACKOFF_MAX_SECONDS = 60
    most = type("Most", (), {"uniform": staticmethod(lambda low, high: high)})
    least = type("Least", (), {"uniform": staticmethod(lambda low, high: low)})

    assert [retry_delay(n, most) for n in (1, 2, 3, 4, 5, 9)] == [5, 10, 20, 40, 60, 60]
    assert [retry_delay(n, least) for n in (1, 2, 3)] == [2.5, 5, 10]
    settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS = 0
    assert retry_delay(3) == 0


def test_a_zero_backoff_retries_at_the_next_pass_not_within_the_same_one(manager, settings):
    settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS = 0
    answers = iter([Answer(503), Answer(204)])
    with Receiver(lambda request: next(answers)) as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")

        first = deliver()
        assert (first["failed"], len(receiver.requests)) == (1, 1)
        second = deliver()

    assert second["delivered"] == 1
    assert (one_message().status, one_message().attempts) == (Delivery.DELIVERED, 2)


def test_a_redirect_is_not_followed(manager):
    with Receiver() as elsewhere:
        moved = Answer(301, {"Location": f"{elsewhere.url}/new"})
        with Receiver(lambda request: moved) as receiver:
            webhook(receiver.url, kinds=["executed"])
            manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
            manager.mark_order_executed("TCS", "B-1", "3900.00")
            deliver()

    assert elsewhere.requests == []
    message = one_message()
    assert message.status == Delivery.PENDING
    assert message.last_error == f"HTTP 301: redirect to {elsewhere.url}/new not followed"


def test_a_ten_megabyte_answer_is_read_only_in_part(manager):
    huge = b"x" * (10 * 1024 * 1024)
    with (
        Receiver(lambda request: Answer(200, body=huge)) as ok,
        Receiver(lambda request: Answer(500, body=huge)) as failing,
    ):
        webhook(ok.url, kinds=["executed"], name="ok")
        webhook(failing.url, kinds=["executed"], name="failing")
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        deliver()

    by_name = {m.subscription.name: m for m in OutboxMessage.objects.select_related("subscription")}
    assert by_name["ok"].status == Delivery.DELIVERED
    assert by_name["failing"].status == Delivery.PENDING
    assert by_name["failing"].last_error.startswith("HTTP 500: xxxx")
    assert len(by_name["failing"].last_error) <= 300


def test_an_endless_answer_does_not_hold_the_deliverer(manager):
    endless = Answer(200, chunks=itertools.repeat(b"y" * 8192))
    with Receiver(lambda request: endless) as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        deliver()

    assert one_message().status == Delivery.DELIVERED


def test_a_receiver_that_never_answers_times_out_and_is_retried(manager):
    released = threading.Event()

    def hang(request):
        released.wait(60)
        return Answer(204)

    with Receiver(hang) as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        try:
            counts = deliver(timeout=1)
        finally:
            released.set()

    message = one_message()
    assert counts["failed"] == 1
    assert (message.status, message.attempts) == (Delivery.PENDING, 1)
    assert message.last_error.startswith("timed out after 1 s")


def test_a_refused_connection_is_retried(manager):
    webhook(f"http://127.0.0.1:{closed_port()}/hook", kinds=["executed"])
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    manager.mark_order_executed("TCS", "B-1", "3900.00")

    deliver()

    message = one_message()
    assert message.status == Delivery.PENDING
    assert message.last_error.startswith("cannot connect")


def test_a_hanging_receiver_does_not_hold_up_another_subscription(manager):
    """The hanging receiver answers only once the healthy one has its message: a deliverer
    that sent one at a time would time out on it instead."""
    healthy_got_it = threading.Event()

    def healthy(request):
        healthy_got_it.set()
        return Answer(204)

    def hanging(request):
        healthy_got_it.wait(30)
        return Answer(204)

    with Receiver(hanging) as slow, Receiver(healthy) as fast:
        webhook(slow.url, kinds=["executed"], name="a slow one")
        webhook(fast.url, kinds=["executed"], name="b fast one")
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")

        counts = deliver(timeout=20)

    assert counts["delivered"] == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Delivery.DELIVERED}


def test_one_failing_target_gets_one_probe_while_the_others_flow(manager, settings):
    settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS = 0
    with Receiver(lambda r: Answer(503)) as down, Receiver() as up:
        failing = webhook(down.url, kinds=["fill"], name="down")
        webhook(up.url, kinds=["fill"], name="up")
        failing.consecutive_failures = 3
        failing.save()
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        for fill in range(5):
            manager.record_fill("B-1", 1, "3900.00", fill_id=f"f{fill}")

        deliver()

    assert len(down.requests) == 1
    assert len(up.requests) == 5


def test_a_message_older_than_the_maximum_age_is_given_up_and_kept(manager, settings):
    settings.ORDERSTATE_NOTIFY_MAX_AGE_SECONDS = 3600
    with Receiver(lambda request: Answer(500)) as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        OutboxMessage.objects.update(created_at=timezone.now() - timedelta(hours=2))
        counts = deliver()

    message = one_message()
    assert counts["dead"] == 1
    assert (message.status, message.attempts) == (Delivery.DEAD, 1)
    assert message.last_error == "HTTP 500: (empty answer)"
    assert message.event.kind == EventKind.EXECUTED


def test_a_last_try_is_made_at_the_maximum_age_not_after(manager, settings):
    settings.ORDERSTATE_NOTIFY_MAX_AGE_SECONDS = 60
    settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS = 600
    with Receiver(lambda request: Answer(500)) as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        deliver()

    message = one_message()
    assert message.next_attempt_at == message.created_at + timedelta(seconds=60)
