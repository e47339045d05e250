"""The deliverer over time: an hour's outage loses nothing, leases keep two deliverers
apart, old messages are given up or pruned, and SQLite runs one deliverer at a time."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orderstate.management.commands.deliver_notifications import LOCK_NAME, Command
from orderstate.models import Delivery, InstanceLock, OutboxMessage
from orderstate.notify import housekeeping, results
from orderstate.notify.deliverer import Deliverer
from orderstate.notify.senders import Outcome
from tests.notify.helpers import deliver, webhook
from tests.notify.receivers import Receiver, closed_port

pytestmark = pytest.mark.django_db


def fills(manager, count):
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", count)
    for index in range(count):
        manager.record_fill("B-1", 1, "3900.00", fill_id=f"f{index}")


def test_a_receiver_down_for_an_hour_loses_nothing_and_is_not_hammered(manager, settings):
    settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS = 5
    settings.ORDERSTATE_NOTIFY_BACKOFF_MAX_SECONDS = 600
    port = closed_port()
    subscription = webhook(f"http://127.0.0.1:{port}/hook", kinds=["fill", "executed"])
    fills(manager, 30)
    start = timezone.now()
    clock = [start]
    deliverer = Deliverer(clock=lambda: clock[0])
    try:
        for second in range(0, 3600, 10):  # a pass every 10 s while nothing listens
            clock[0] = start + timedelta(seconds=second)
            deliverer.deliver_due()
        tries_while_down = sum(OutboxMessage.objects.values_list("attempts", flat=True))
        assert not OutboxMessage.objects.exclude(status=Delivery.PENDING).exists()

        with Receiver(port=port) as receiver:
            for second in range(3600, 3600 + 1800, 10):
                clock[0] = start + timedelta(seconds=second)
                deliverer.deliver_due()
                if not OutboxMessage.objects.pending().exists():
                    break
    finally:
        deliverer.close()

    sent = sorted(int(request.headers["X-Orderstate-Event-Id"]) for request in receiver.requests)
    expected = sorted(OutboxMessage.objects.values_list("event_id", flat=True))
    assert len(expected) == 30  # 29 fills and the execution
    assert sent == expected
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Delivery.DELIVERED}
    # The first pass sends up to 16 side by side; then one probe per backoff (at most 10 min).
    assert tries_while_down <= 16 + 15
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_a_message_leased_by_another_deliverer_waits_for_the_lease_to_run_out(manager):
    with Receiver() as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        now = timezone.now()
        OutboxMessage.objects.update(claimed_until=now + timedelta(seconds=60), claimed_by="x:1")

        deliver(clock=lambda: now)
        assert receiver.requests == []
        deliver(clock=lambda: now + timedelta(seconds=61))

    assert len(receiver.requests) == 1
    assert OutboxMessage.objects.get().status == Delivery.DELIVERED


def test_an_outcome_is_not_written_over_a_lease_another_deliverer_took(manager):
    webhook("http://127.0.0.1:9/", kinds=["executed"])
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    manager.mark_order_executed("TCS", "B-1", "3900.00")
    message = OutboxMessage.objects.select_related("subscription", "event").get()
    OutboxMessage.objects.update(claimed_by="another:2")

    counts = results.record("me:1", [(message, Outcome(True))], timezone.now())

    assert counts["delivered"] == 0
    assert OutboxMessage.objects.get().status == Delivery.PENDING


def test_a_tried_message_past_the_maximum_age_is_given_up(manager, settings):
    settings.ORDERSTATE_NOTIFY_MAX_AGE_SECONDS = 3600
    healthy = webhook("http://127.0.0.1:9/a", kinds=["fill"], name="healthy")
    failing = webhook("http://127.0.0.1:9/b", kinds=["fill"], name="failing")
    failing.consecutive_failures = 4
    failing.save()
    fills(manager, 2)
    old = timezone.now() - timedelta(hours=2)
    OutboxMessage.objects.update(created_at=old)
    tried = OutboxMessage.objects.filter(subscription=healthy).order_by("id").first()
    OutboxMessage.objects.filter(pk=tried.pk).update(attempts=3, last_error="HTTP 502: ")

    assert housekeeping.give_up_old(timezone.now()) == 3

    status = dict(
        ((m.subscription.name, m.pk == tried.pk), m.status)
        for m in OutboxMessage.objects.select_related("subscription")
    )
    assert status == {
        ("healthy", True): Delivery.DEAD,
        ("healthy", False): Delivery.PENDING,  # never tried: it gets its one try
        ("failing", False): Delivery.DEAD,
    }
    assert OutboxMessage.objects.get(pk=tried.pk).last_error == "HTTP 502: "
    assert (
        OutboxMessage.objects.filter(
            subscription=failing, last_error__startswith="given up"
        ).count()
        == 2
    )


def test_delivered_and_dead_messages_are_pruned_after_the_keeping_days(manager, settings):
    settings.ORDERSTATE_NOTIFY_KEEP_DAYS = 7
    webhook("http://127.0.0.1:9/", kinds=["fill"])
    fills(manager, 3)
    first, second, third = OutboxMessage.objects.order_by("id")
    OutboxMessage.objects.filter(pk=first.pk).update(status=Delivery.DELIVERED)
    OutboxMessage.objects.filter(pk=second.pk).update(status=Delivery.DEAD)
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(days=8))

    assert housekeeping.prune(timezone.now()) == 2

    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [third.pk]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL runs several")
def test_on_sqlite_a_second_deliverer_skips_its_pass_while_one_runs(manager):
    with Receiver() as receiver:
        webhook(receiver.url, kinds=["executed"])
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.mark_order_executed("TCS", "B-1", "3900.00")
        InstanceLock.objects.create(name=LOCK_NAME, holder="another-host:1:abc")
        deliverer = Deliverer()
        try:
            skipped = Command().handle_one_pass(deliverer)
            InstanceLock.objects.all().delete()
            done = Command().handle_one_pass(deliverer)
        finally:
            deliverer.close()

    assert skipped is None
    assert done["delivered"] == 1 and len(receiver.requests) == 1
