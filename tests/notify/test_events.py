"""The events notifications want that are not an order's own change: a sync that failed or
went stale, a manual trade at the broker, a position mismatch, the feed down, a test."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.brokers.base import BrokerUnavailable, OrderBook
from orderstate.errors import ValidationError
from orderstate.models import EventKind, OrderEvent, OutboxMessage, SyncOutcome, SyncRun
from orderstate.notify import housekeeping
from orderstate.sync import run_sync
from tests.kotak_book import placed_in, row
from tests.notify.helpers import webhook

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hook"
CTX = Context.of("cli")


class DownBroker:
    name = "kotak"

    def fetch_order_book(self):
        raise BrokerUnavailable("Invalid session, log in again")


class EmptyBroker:
    name = "kotak"

    def fetch_order_book(self):
        return OrderBook()


def kinds():
    return list(OrderEvent.objects.order_by("id").values_list("kind", flat=True))


def test_a_failed_sync_writes_one_event_per_failure_episode():
    subscription = webhook(URL, kinds=["sync_failed"])

    first = run_sync(broker=DownBroker())
    run_sync(broker=DownBroker())
    run_sync(broker=EmptyBroker())
    run_sync(broker=DownBroker())

    failed = OrderEvent.objects.filter(kind=EventKind.SYNC_FAILED).order_by("id")
    assert len(failed) == 2
    assert failed[0].data == {
        "sync_run": first.pk,
        "broker": "kotak",
        "error": "Invalid session, log in again",
    }
    assert failed[0].order is None and failed[0].source == "sync"
    assert OutboxMessage.objects.filter(subscription=subscription).count() == 2


def test_a_failed_dry_run_tells_no_one():
    run = run_sync(broker=DownBroker(), dry_run=True)

    assert run.outcome == SyncOutcome.FAILED
    assert kinds() == []


def ok_sync(finished_ago):
    return SyncRun.objects.create(
        broker="paper", outcome=SyncOutcome.OK, finished_at=timezone.now() - finished_ago
    )


def test_a_stale_sync_is_noticed_once_per_episode(settings):
    settings.ORDERSTATE_SYNC_STALE_SECONDS = 300
    webhook(URL, kinds=["sync_stale"])
    ok_sync(timedelta(minutes=10))
    now = timezone.now()

    assert housekeeping.notice_stale_sync(now) is not None
    assert housekeeping.notice_stale_sync(now + timedelta(minutes=5)) is None
    ok_sync(timedelta(seconds=-1))  # a good sync after that event: the episode is over
    assert housekeeping.notice_stale_sync(now + timedelta(seconds=2)) is None
    assert housekeeping.notice_stale_sync(now + timedelta(minutes=6)) is not None

    assert kinds() == [EventKind.SYNC_STALE, EventKind.SYNC_STALE]
    assert OutboxMessage.objects.count() == 2


def test_no_sync_yet_is_not_a_stale_episode(settings):
    settings.ORDERSTATE_SYNC_STALE_SECONDS = 300

    assert housekeeping.notice_stale_sync(timezone.now()) is None


def test_a_fresh_sync_is_not_stale(settings):
    settings.ORDERSTATE_SYNC_STALE_SECONDS = 300
    ok_sync(timedelta(minutes=4))

    assert housekeeping.notice_stale_sync(timezone.now()) is None


def test_a_manual_sell_and_a_manual_buy_write_manual_trade_events(manager):
    webhook(URL, kinds=["manual_trade"])
    manager.register_buy_order("RELIANCE-EQ", "B-1", "2450.00", 10)
    manager.mark_order_executed("RELIANCE", "B-1", "2450.00")
    manager.add_failed_order("TCS", "TCS.NS", 5, "3900.00", reason="insufficient funds")
    book = [
        row(
            "9001", "RELIANCE", "S", "complete", 10, 10, "2520.00", "2520.00", ordDtTm=placed_in(60)
        ),
        row("9002", "TCS", "B", "complete", 5, 5, "3890.00", "3890.00", ordDtTm=placed_in(60)),
    ]

    manager.sync_with_broker(broker_orders=book)

    events = OrderEvent.objects.filter(kind=EventKind.MANUAL_TRADE).order_by(
        "order__broker_order_id"
    )
    assert [(e.order.broker_order_id, e.data["trade"], e.data["quantity"]) for e in events] == [
        ("9001", "manual_sell", 10),
        ("9002", "manual_buy", 5),
    ]
    assert OutboxMessage.objects.count() == 2


def test_an_order_placed_outside_the_bot_with_nothing_to_resolve_is_no_manual_trade(manager):
    book = [row("9003", "WIPRO", "B", "complete", 5, 5, "400.00", "400.00", ordDtTm=placed_in(60))]

    manager.sync_with_broker(broker_orders=book)

    assert not OrderEvent.objects.filter(kind=EventKind.MANUAL_TRADE).exists()


def test_the_mismatch_and_feed_helpers_commit_with_their_callers_transaction():
    webhook(URL, kinds=["position_mismatch", "feed_down"])

    with pytest.raises(RuntimeError), transaction.atomic():
        notifications.record_position_mismatch(CTX, "TCS", 10, 4, run=7)
        notifications.record_feed_down(CTX, "socket closed")
        raise RuntimeError("the positions check failed after writing")
    assert kinds() == [] and not OutboxMessage.objects.exists()

    mismatch = notifications.record_position_mismatch(CTX, "TCS", 10, 4, run=7)
    notifications.record_feed_down(CTX, "socket closed", since="2026-12-02T09:15:00+05:30")

    assert mismatch.data == {"symbol": "TCS", "ours": 10, "broker": 4, "run": 7}
    assert kinds() == [EventKind.POSITION_MISMATCH, EventKind.FEED_DOWN]
    assert OutboxMessage.objects.count() == 2


def test_a_test_notification_goes_to_its_subscription_only_whatever_it_wants():
    target = webhook(URL, kinds=["rejected"])
    webhook(URL, kinds=["fill"], name="another")

    message = notifications.send_test(CTX, target.pk)

    assert message.subscription == target
    assert OutboxMessage.objects.get() == message
    assert message.event.kind == EventKind.NOTIFICATION_TEST
    assert message.event.data == {"subscription": target.pk, "name": target.name}


def test_a_switched_off_or_unknown_subscription_gets_no_test():
    off = webhook(URL, kinds=["fill"], active=False)

    with pytest.raises(ValidationError, match="not active"):
        notifications.send_test(CTX, off.pk)
    with pytest.raises(ValidationError, match="no subscription"):
        notifications.send_test(CTX, 999)
    assert kinds() == []
