"""The outbox: a row per (event, subscription that wants it), written in the event's own
transaction, so a rolled-back change notifies no one and a committed one is never lost."""

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from orderstate.actions import outbox
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, Order, OrderEvent, OutboxMessage
from orderstate.states import Status
from tests.kotak_book import row
from tests.notify.helpers import webhook

URL = "http://127.0.0.1:9/hook"


def outbox_kinds(subscription=None):
    rows = OutboxMessage.objects.order_by("id")
    if subscription is not None:
        rows = rows.filter(subscription=subscription)
    return [message.event.kind for message in rows.select_related("event")]


@pytest.mark.django_db
def test_an_event_gets_a_row_for_each_subscription_that_wants_its_kind(manager):
    fills = webhook(URL, kinds=["fill", "executed"])
    rejections = webhook(URL, kinds=["rejected"])
    switched_off = webhook(URL, kinds=["executed"], active=False)

    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    manager.record_fill("B-1", 4, "3900.00")
    manager.mark_order_executed("TCS", "B-1", "3900.00")

    assert outbox_kinds(fills) == [EventKind.FILL, EventKind.EXECUTED]
    assert outbox_kinds(rejections) == []
    assert outbox_kinds(switched_off) == []
    message = OutboxMessage.objects.filter(subscription=fills).first()
    assert message.account == "default" and message.event.order.broker_order_id == "B-1"


@pytest.mark.django_db
def test_a_subscription_limited_to_an_account_hears_only_that_account():
    mine = webhook(URL, kinds=["executed"], account="family")
    everyone = webhook(URL, kinds=["executed"])
    for account in ("default", "family"):
        bot = OrderStateManager(source="api", account=account)
        bot.register_buy_order("INFY-EQ", f"B-{account}", "1500.00", 5)
        bot.mark_order_executed("INFY", f"B-{account}", "1500.00")

    heard = OutboxMessage.objects.filter(subscription=mine).values_list("account", flat=True)
    assert list(heard) == ["family"]
    assert OutboxMessage.objects.filter(subscription=everyone).count() == 2


@pytest.mark.django_db
def test_the_row_is_written_inside_the_action_not_after_its_commit(
    manager, django_capture_on_commit_callbacks
):
    webhook(URL, kinds=["executed"])
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)

    # The test's transaction never commits: a row written on commit would not exist.
    with django_capture_on_commit_callbacks() as callbacks:
        manager.mark_order_executed("TCS", "B-1", "3900.00")

    assert outbox_kinds() == [EventKind.EXECUTED]
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_a_change_that_fails_after_its_outbox_row_leaves_no_row_and_no_change(monkeypatch):
    webhook(URL, kinds=["executed"])
    manager = OrderStateManager(source="api")
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    real_enqueue = outbox.enqueue

    def enqueue_then_fail(events, account):
        assert real_enqueue(events, account), "the outbox row was written"
        raise DatabaseError("the disk filled up before the commit")

    monkeypatch.setattr(outbox, "enqueue", enqueue_then_fail)
    with pytest.raises(DatabaseError):
        manager.mark_order_executed("TCS", "B-1", "3900.00")

    assert not OutboxMessage.objects.exists()
    assert Order.objects.get().status == Status.PENDING
    assert list(OrderEvent.objects.values_list("kind", flat=True)) == [EventKind.REGISTERED]


@pytest.mark.django_db(transaction=True)
def test_a_sync_batch_writes_rows_for_its_buffered_events():
    webhook(URL, kinds=["executed"])
    manager = OrderStateManager(source="bot")
    book = []
    for index in range(3):
        manager.register_buy_order(f"S{index}-EQ", f"24061{index}", "100.00", 10)
        book.append(row(f"24061{index}", f"S{index}", "B", "complete", 10, 10, "100.00", "100.00"))

    manager.sync_with_broker(broker_orders=book)

    executed = OrderEvent.objects.filter(kind=EventKind.EXECUTED).order_by("id")
    assert [m.event_id for m in OutboxMessage.objects.order_by("event_id")] == [
        event.pk for event in executed
    ]
    assert len(executed) == 3


@pytest.mark.django_db(transaction=True)
def test_a_sync_batch_whose_outbox_write_fails_changes_no_order(monkeypatch):
    webhook(URL, kinds=["executed"])
    manager = OrderStateManager(source="bot")
    manager.register_buy_order("S0-EQ", "240610", "100.00", 10)
    book = [row("240610", "S0", "B", "complete", 10, 10, "100.00", "100.00")]
    real_enqueue = outbox.enqueue

    def enqueue_then_fail(events, account):
        real_enqueue(events, account)
        raise DatabaseError("the disk filled up before the commit")

    monkeypatch.setattr(outbox, "enqueue", enqueue_then_fail)
    stats = manager.sync_with_broker(broker_orders=book)

    assert stats["errors"] == 1
    assert Order.objects.get().status == Status.PENDING
    assert not OutboxMessage.objects.exists()
    assert not OrderEvent.objects.filter(kind=EventKind.EXECUTED).exists()


@pytest.mark.django_db
def test_imported_history_notifies_no_one(importer):
    webhook(URL, kinds=["executed", "fill"])

    importer.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    importer.mark_order_executed("TCS", "B-1", "3900.00")

    assert OrderEvent.objects.filter(kind=EventKind.EXECUTED).exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_events_nobody_can_want_cost_no_subscription_query(manager):
    webhook(URL, kinds=["executed"])

    with CaptureQueriesContext(connection) as queries:
        manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
        manager.update_sell_order_price("TCS", "3950.00")

    assert not [q for q in queries if "orderstate_subscription" in q["sql"]]
