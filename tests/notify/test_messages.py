"""What a Telegram message says for each kind a subscription may want."""

import pytest
from django.utils import timezone

from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.display import ist
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, OrderEvent, SyncRun
from orderstate.notify.messages import telegram_text
from tests.kotak_book import placed_in, row
from tests.notify.helpers import executed_sell

pytestmark = pytest.mark.django_db

CTX = Context.of("cli")


def headline(kind, **filters):
    event = OrderEvent.objects.filter(kind=kind, **filters).order_by("id").last()
    return telegram_text(event, "default").splitlines()[0]


def test_the_second_line_says_when_in_ist_which_order_and_a_named_account():
    bot = OrderStateManager(source="api", account="family")
    bot.register_buy_order("TCS-EQ", "B-9", "3900.00", 10)
    bot.mark_order_executed("TCS", "B-9", "3900.00")
    event = OrderEvent.objects.get(kind=EventKind.EXECUTED)

    lines = telegram_text(event, "family").splitlines()

    assert lines == [
        "BUY TCS 10 @ ₹3,900.00 executed",
        f"{ist(event.at)} · order B-9 · account family",
    ]
    assert lines[1].endswith("IST · order B-9 · account family")


def test_an_executed_sell_shows_its_realised_pnl(manager):
    executed_sell(manager)

    assert headline(EventKind.EXECUTED, order__side="SELL") == (
        "SELL RELIANCE 10 @ ₹2,500.00 executed · P&L ₹1,000.00"
    )


def test_a_losing_partial_sell_fill_shows_a_negative_pnl_in_lakhs(manager):
    manager.register_buy_order("MRF-EQ", "B-1", "150000.00", 10)
    manager.mark_order_executed("MRF", "B-1", "150000.00")
    manager.register_sell_order("MRF-EQ", "S-1", "140000.00", 10)
    manager.record_fill("S-1", 4, "140000.00")

    assert headline(EventKind.FILL) == "SELL MRF 4 @ ₹1,40,000.00 filled · P&L -₹40,000.00"


def test_a_rejection_and_a_cancellation_give_their_reason(manager):
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    manager.cancel_order("B-1", reason="RMS: insufficient funds", status="REJECTED")
    manager.register_sell_order("INFY-EQ", "S-1", "1600.00", 5)
    manager.remove_from_tracking("INFY", reason="target moved")

    assert (
        headline(EventKind.REJECTED) == "BUY TCS 10 @ ₹3,900.00 rejected: RMS: insufficient funds"
    )
    assert headline(EventKind.CANCELLED) == "SELL INFY 5 @ ₹1,600.00 cancelled: target moved"


def test_a_manual_sell_at_the_broker_is_called_one(manager):
    manager.register_buy_order("RELIANCE-EQ", "B-1", "2450.00", 10)
    manager.mark_order_executed("RELIANCE", "B-1", "2450.00")
    manual = row(
        "9001", "RELIANCE", "S", "complete", 10, 10, "0.00", "2520.00",
        prcTp="MKT", ordDtTm=placed_in(60),
    )  # fmt: skip
    manager.sync_with_broker(broker_orders=[manual])

    assert headline(EventKind.MANUAL_TRADE) == (
        "Manual SELL RELIANCE 10 @ ₹2,520.00 at the broker (not placed by the bot)"
    )


def test_the_kinds_about_no_order_say_what_went_wrong():
    run = SyncRun.objects.create(broker="kotak", outcome="failed", error="Invalid session")
    notifications.record_sync_failed(CTX, run)
    notifications.record_position_mismatch(CTX, "TCS", 10, 4)
    notifications.record_feed_down(CTX, "socket closed by the broker")

    assert headline(EventKind.SYNC_FAILED) == "Sync with kotak failed: Invalid session"
    assert headline(EventKind.POSITION_MISMATCH) == (
        "Position mismatch TCS: orderstate holds 10, the broker 4"
    )
    assert headline(EventKind.FEED_DOWN) == "Order feed down: socket closed by the broker"


def test_a_stale_sync_says_for_how_long_and_since_when(settings):
    settings.ORDERSTATE_SYNC_STALE_SECONDS = 300
    finished = timezone.now() - timezone.timedelta(minutes=12)
    SyncRun.objects.create(broker="paper", outcome="ok", finished_at=finished)
    notifications.record_sync_stale(CTX)

    assert headline(EventKind.SYNC_STALE) == f"No successful sync for 12m (last at {ist(finished)})"
