"""OrderStateClient end to end: the real API, served by a live server, through a real token."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils.timezone import now as django_now

from orderstate import errors
from orderstate.client import (
    NotAuthenticated,
    OrderStateClient,
    PermissionDenied,
    RemoteOrder,
    ServiceUnavailable,
)
from orderstate.manager import OrderStateManager
from orderstate.models import FailedOrder, Order, SyncOutcome, SyncRun
from orderstate.models.auth import ApiToken


@pytest.fixture
def live_client(live_server, trader):
    _, key = ApiToken.issue(trader, name="e2e bot")
    with OrderStateClient(live_server.url, key, timeout=10) as client:
        yield client


@pytest.fixture
def stub_sync(monkeypatch):
    """The sync itself is another module's job; here the request is answered as the running
    sync process would answer it, and only its result travels back."""
    from orderstate import sync

    request_sync = sync.request_sync

    def answered(**kwargs):
        request = request_sync(**kwargs)
        SyncRun.objects.filter(pk=request.pk).update(
            outcome=SyncOutcome.OK, stats={"checked": 2, "executed": 0}
        )
        return request

    monkeypatch.setattr(sync, "request_sync", answered, raising=False)


def test_end_to_end_register_fill_execute_sell_cancel(live_client):
    client = live_client
    manager = OrderStateManager()

    buy = client.register_buy_order("RELIANCE-EQ", "B-1", "2400.00", 10, ticker="RELIANCE.NS")
    assert isinstance(buy, RemoteOrder) and buy.status == "PENDING" and buy.side == "BUY"
    assert client.register_buy_order("RELIANCE-EQ", "B-1", "2400.00", 10, "RELIANCE.NS") == buy

    filled = client.record_fill("B-1", 4, "2399.50", fill_id="T1")
    assert (filled.status, filled.filled_quantity) == ("PARTIALLY_FILLED", 4)
    assert client.record_fill("B-1", 4, "2399.50", fill_id="T1").filled_quantity == 4

    executed = client.mark_order_executed("RELIANCE", "B-1", "2400.00")
    assert (executed.status, executed.filled_quantity) == ("EXECUTED", 10)
    assert executed.average_price == Decimal("2400.0000")
    with pytest.raises(errors.InvalidTransition):
        client.mark_order_executed("RELIANCE", "B-1", "2401.00")
    with pytest.raises(errors.ValidationError):
        client.mark_order_executed("TCS", "B-1", "2400.00")

    sell = client.register_sell_order(
        "RELIANCE-EQ", "S-1", 2500.0, 10, ticker="RELIANCE.NS", rsi10=28.4
    )
    assert sell.price == Decimal("2500.00") and sell.metadata == {"rsi10": 28.4}
    with pytest.raises(errors.DuplicateOrder):
        client.register_sell_order("RELIANCE", "S-2", 2600.0, 10)
    with pytest.raises(errors.DuplicateOrder):
        client.register_sell_order("RELIANCE", "S-1", 2600.0, 10)

    assert client.update_sell_order_price("reliance", 2550.25) is True
    assert client.update_sell_order_price("TCS", 100) is False
    assert client.get_active_order("RELIANCE-EQ")["target_price"] == 2550.25
    assert client.get_active_sell_orders() == manager.get_active_sell_orders()
    assert client.get_pending_orders() == manager.get_pending_orders()
    assert client.get_pending_orders("EXECUTED") == manager.get_pending_orders("EXECUTED")

    assert client.remove_from_tracking("RELIANCE", reason="target moved") is True
    assert client.remove_from_tracking("RELIANCE") is False
    assert client.get_active_sell_orders() == {}
    with pytest.raises(errors.OrderNotFound):
        client.mark_order_executed("RELIANCE", None, "2550.25")
    with pytest.raises(errors.OrderNotFound):
        client.record_fill("NO-SUCH", 1, "1.00")

    assert client.get_trade_history() == manager.get_trade_history()
    stored = Order.objects.get(broker_order_id="S-1")
    assert (stored.status, stored.status_reason) == ("CANCELLED", "target moved")
    assert stored.events.filter(source="api").count() >= 3


def test_end_to_end_sell_to_a_closed_trade_matches_the_manager(live_client):
    client = live_client
    client.register_buy_order("TCS", "B-7", "3500.00", 4)
    client.mark_order_executed("TCS", "B-7", "3500.00")
    client.register_sell_order("TCS-EQ", "S-7", "3600.00", 4)
    client.mark_order_executed("TCS", None, "3610.00")
    history = client.get_trade_history()
    assert history == OrderStateManager().get_trade_history()
    assert history["trades"][0]["status"] == "closed"
    assert history["trades"][0]["pnl"] == 440.0


def test_end_to_end_failed_order_queue(live_client):
    client = live_client
    entry = client.add_failed_order(
        "INFY-EQ", "INFY.NS", 5, 1500.0, "insufficient funds", ema9=1490
    )
    assert entry["status"] == "WAITING"
    client.add_failed_order("INFY", "INFY.NS", 5, 1500.0, "still no funds")
    manager = OrderStateManager()
    assert client.get_failed_orders() == manager.get_failed_orders()
    assert client.get_failed_orders()[0]["retry_count"] == 1

    FailedOrder.objects.filter(symbol="INFY").update(
        first_failed_at=django_now() - timedelta(days=10)  # before any run of closed days
    )
    assert client.get_failed_orders() == []
    assert client.cleanup_expired_failed_orders() == 1
    assert FailedOrder.objects.get(symbol="INFY").status == "EXPIRED"


def test_end_to_end_sync_needs_staff(live_server, trader, staff_user, stub_sync):
    _, key = ApiToken.issue(trader)
    with OrderStateClient(live_server.url, key) as client, pytest.raises(PermissionDenied):
        client.sync_with_broker()
    _, key = ApiToken.issue(staff_user)
    with OrderStateClient(live_server.url, key) as client:
        assert client.sync_with_broker() == {"checked": 2, "executed": 0, "outcome": "ok"}


def test_end_to_end_token_errors(live_server, trader):
    _, key = ApiToken.issue(trader, read_only=True)
    with OrderStateClient(live_server.url, key) as client:
        assert client.get_active_sell_orders() == {}
        with pytest.raises(PermissionDenied):
            client.register_sell_order("TCS", "S-9", "100.00", 1)
    token, key = ApiToken.issue(trader)
    token.revoke()
    with OrderStateClient(live_server.url, key) as client, pytest.raises(NotAuthenticated):
        client.get_active_sell_orders()


def test_end_to_end_unreachable_server_raises_after_bounded_retries(db):
    sleeps = []
    client = OrderStateClient("http://127.0.0.1:9", "x.y", timeout=1, sleep=sleeps.append)
    with pytest.raises(ServiceUnavailable):
        client.get_active_sell_orders()
    assert len(sleeps) == client.retries


def test_end_to_end_accounts_follow_the_token_or_the_client_option(live_server, trader):
    OrderStateManager().register_sell_order("TCS", "S-MAIN", "3600.00", 1)
    _, scoped_key = ApiToken.issue(trader, account="side")
    _, open_key = ApiToken.issue(trader)
    with OrderStateClient(live_server.url, scoped_key) as scoped:
        scoped.register_sell_order("TCS", "S-SIDE", "3700.00", 2)
        assert (
            scoped.get_active_sell_orders()
            == OrderStateManager(account="side").get_active_sell_orders()
        )
        with pytest.raises(errors.OrderNotFound):
            scoped.get_order("S-MAIN")
    with OrderStateClient(live_server.url, open_key, account="side") as chosen:
        assert chosen.get_active_order("TCS")["order_id"] == "S-SIDE"
        assert [o["order_id"] for o in chosen.get_pending_orders()] == ["S-SIDE"]
    assert Order.objects.get(broker_order_id="S-SIDE").account == "side"


@pytest.mark.django_db(transaction=True, databases=["default", "event_listener"])
def test_end_to_end_watch_events_sees_the_sell_fill_as_it_commits(live_client):
    from orderstate.event_feed.listener import listener

    manager = OrderStateManager()
    manager.register_buy_order("RELIANCE-EQ", "B-1", "2400.00", 10)
    manager.mark_order_executed("RELIANCE", "B-1", "2400.00")
    start = live_client.latest_event_id()
    live_client.register_sell_order("RELIANCE-EQ", "S-1", "2500.00", 10)

    def sell_fills_once_the_bot_waits():
        try:
            while listener.waiters < 1:
                time.sleep(0.005)
            manager.record_fill("S-1", 10, "2500.00", fill_id="F-1")
        finally:
            connection.close()

    filler = threading.Thread(target=sell_fills_once_the_bot_waits)
    try:
        events = live_client.watch_events(after=start, kinds=["registered", "fill"], wait=10)
        registered = next(events)
        filler.start()
        filled = next(events)
        filler.join()
    finally:
        listener.stop()

    assert (registered.kind, registered.order) == ("registered", "S-1")
    assert (filled.kind, filled.order, filled.to_status) == ("fill", "S-1", "EXECUTED")
    assert filled.data["fill_id"] == "F-1"
    assert filled.id > registered.id
