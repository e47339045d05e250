from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate import sync
from orderstate.brokers.paper import PaperBroker
from orderstate.models import (
    EventKind,
    EventSource,
    FailedOrder,
    FailedOrderStatus,
    Order,
    OrderEvent,
    SyncOutcome,
    SyncRun,
)
from orderstate.states import Status
from tests.clients import logged_in_client
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def status_of(broker_order_id):
    return Order.objects.get(broker_order_id=broker_order_id).status


# Stop tracking an order ----------------------------------------------------------


def test_anonymous_cancel_redirects_to_login_and_changes_nothing(client, tcs_sell_order):
    response = client.post("/orders/S-100/cancel/", {"reason": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert status_of("S-100") == Status.PENDING


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewer_may_not_cancel(viewer_client, tcs_sell_order, method):
    response = getattr(viewer_client, method)("/orders/S-100/cancel/", {"reason": "x"})
    assert response.status_code == 403
    assert status_of("S-100") == Status.PENDING


def test_cancel_asks_for_confirmation_first(staff_client, tcs_sell_order):
    response = staff_client.get("/orders/S-100/cancel/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'method="post"' in body and "csrfmiddlewaretoken" in body
    assert "Stop tracking order S-100" in body
    assert status_of("S-100") == Status.PENDING


def test_cancel_without_reason_shows_the_form_again(staff_client, tcs_sell_order):
    response = staff_client.post("/orders/S-100/cancel/", {"reason": "  "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert status_of("S-100") == Status.PENDING


def test_staff_cancel_goes_through_the_manager_and_lands_in_the_timeline(
    staff_client, staff_user, tcs_sell_order
):
    response = staff_client.post("/orders/S-100/cancel/", {"reason": "sold by hand"}, follow=True)
    assert response.redirect_chain == [("/orders/S-100/", 302)]
    assert messages_of(response) == ["Order S-100 is no longer tracked."]
    order = Order.objects.get(broker_order_id="S-100")
    assert order.status == Status.CANCELLED and order.status_reason == "sold by hand"
    event = order.events.get(kind=EventKind.CANCELLED)
    assert event.actor == staff_user and event.source == EventSource.DASHBOARD
    assert '<span class="actor">Asha Rao</span> via Dashboard' in response.content.decode()


def test_user_with_change_order_permission_may_cancel(trader_client, tcs_sell_order):
    response = trader_client.post("/orders/S-100/cancel/", {"reason": "duplicate"})
    assert response.status_code == 302
    assert status_of("S-100") == Status.CANCELLED


def test_cancel_of_an_executed_order_is_a_message_not_a_500(staff_client, executed_buy):
    response = staff_client.post("/orders/B-200/cancel/", {"reason": "oops"}, follow=True)
    assert response.status_code == 200
    assert messages_of(response) == [
        "Order B-200 was not changed: order B-200 cannot move from EXECUTED to CANCELLED"
    ]
    assert status_of("B-200") == Status.EXECUTED


def test_cancel_of_unknown_order_is_404(staff_client):
    assert staff_client.post("/orders/NOPE/cancel/", {"reason": "x"}).status_code == 404


def test_cancel_without_csrf_token_is_refused(staff_user, tcs_sell_order):
    client = logged_in_client(staff_user, enforce_csrf_checks=True)
    response = client.post("/orders/S-100/cancel/", {"reason": "no token"})
    assert response.status_code == 403
    assert status_of("S-100") == Status.PENDING


def test_cancel_with_the_confirmation_pages_csrf_token_works(staff_user, tcs_sell_order):
    client = logged_in_client(staff_user, enforce_csrf_checks=True)
    page = client.get("/orders/S-100/cancel/")
    token = page.context["csrf_token"]
    response = client.post(
        "/orders/S-100/cancel/", {"reason": "with token", "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302
    assert status_of("S-100") == Status.CANCELLED


# Failed buys ------------------------------------------------------------------------


@pytest.fixture
def waiting_entry(manager):
    return manager.add_failed_order("ITC-EQ", qty=40, close="438.15", reason="insufficient funds")


@pytest.fixture
def expired_entry(manager):
    old = timezone.now() - timedelta(days=10)  # before any run of closed days
    entry = manager.add_failed_order("SBIN-EQ", qty=5, close="600", reason="funds")
    FailedOrder.objects.filter(pk=entry.pk).update(first_failed_at=old)
    manager.cleanup_expired_failed_orders()
    entry.refresh_from_db()
    assert entry.status == FailedOrderStatus.EXPIRED
    return entry


def test_viewer_may_not_drop_or_retry(viewer_client, waiting_entry, expired_entry):
    assert viewer_client.post(f"/failed/{waiting_entry.pk}/drop/").status_code == 403
    assert viewer_client.post(f"/failed/{expired_entry.pk}/retry/").status_code == 403
    waiting_entry.refresh_from_db()
    assert waiting_entry.status == FailedOrderStatus.WAITING


def test_drop_confirms_then_drops_with_the_user_in_the_log(staff_client, staff_user, waiting_entry):
    confirm = staff_client.get(f"/failed/{waiting_entry.pk}/drop/")
    assert "Drop the failed buy of ITC" in confirm.content.decode()
    response = staff_client.post(f"/failed/{waiting_entry.pk}/drop/", follow=True)
    assert messages_of(response) == ["The failed buy of ITC was dropped from the retry queue."]
    waiting_entry.refresh_from_db()
    assert waiting_entry.status == FailedOrderStatus.EXPIRED
    event = OrderEvent.objects.filter(kind=EventKind.FAILED_ORDER).latest("id")
    assert event.actor == staff_user and event.data["reason"] == "dropped"
    assert "Asha Rao" in response.content.decode()


def test_dropping_twice_warns_and_changes_nothing(staff_client, waiting_entry):
    staff_client.post(f"/failed/{waiting_entry.pk}/drop/", follow=True)
    response = staff_client.post(f"/failed/{waiting_entry.pk}/drop/", follow=True)
    assert messages_of(response) == ["The failed buy of ITC is not waiting; nothing changed."]


def test_retry_puts_an_expired_buy_back_in_the_queue(staff_client, staff_user, expired_entry):
    response = staff_client.post(f"/failed/{expired_entry.pk}/retry/", follow=True)
    assert messages_of(response) == ["The failed buy of SBIN is back in the retry queue."]
    expired_entry.refresh_from_db()
    assert expired_entry.status == FailedOrderStatus.WAITING
    assert expired_entry.retry_count == 1
    assert "first_failed_originally" in expired_entry.metadata
    event = OrderEvent.objects.filter(kind=EventKind.FAILED_ORDER).latest("id")
    assert (event.from_status, event.to_status) == ("EXPIRED", "WAITING")
    assert event.actor == staff_user


def test_retry_of_a_bought_entry_is_refused_with_a_message(staff_client, manager, waiting_entry):
    manager.mark_failed_order_retried("ITC", "B-777")
    response = staff_client.post(f"/failed/{waiting_entry.pk}/retry/", follow=True)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("The failed buy of ITC was not changed:")
    waiting_entry.refresh_from_db()
    assert waiting_entry.status == FailedOrderStatus.RETRIED


def test_retry_when_the_symbol_already_waits_is_refused(staff_client, manager, expired_entry):
    manager.add_failed_order("SBIN-EQ", qty=5, close="600", reason="funds again")
    response = staff_client.post(f"/failed/{expired_entry.pk}/retry/", follow=True)
    [message] = messages_of(response)
    assert "already has a waiting failed order" in message


def test_failed_action_without_csrf_token_is_refused(staff_user, waiting_entry):
    client = logged_in_client(staff_user, enforce_csrf_checks=True)
    assert client.post(f"/failed/{waiting_entry.pk}/drop/").status_code == 403


# Sync now ---------------------------------------------------------------------------
# The request goes to the running sync process; nothing syncs in the web worker.


@pytest.fixture
def no_sync_in_the_worker(monkeypatch):
    """Fail the test if the web worker runs a sync itself."""

    def run_sync(*args, **kwargs):
        raise AssertionError("the web worker ran a sync")

    monkeypatch.setattr(sync, "run_sync", run_sync, raising=False)


def test_viewer_may_not_run_a_sync(viewer_client, no_sync_in_the_worker):
    assert viewer_client.post("/sync/run/").status_code == 403
    assert not SyncRun.objects.exists()


def test_sync_now_confirms_then_requests_a_sync_as_the_user(
    staff_client, staff_user, no_sync_in_the_worker
):
    confirm = staff_client.get("/sync/run/")
    assert "Sync with the broker now" in confirm.content.decode()
    assert not SyncRun.objects.exists()

    response = staff_client.post("/sync/run/", follow=True)

    request = SyncRun.objects.get()
    assert (request.outcome, request.requested_by, request.request_source) == (
        SyncOutcome.REQUESTED,
        staff_user,
        "dashboard",
    )
    assert messages_of(response) == [
        f"Sync #{request.pk} requested; the sync process runs it within a second."
    ]
    assert f"Sync #{request.pk}:" in response.content.decode()
    assert "waiting for the sync process" in response.content.decode()


def test_the_sync_page_follows_the_request_to_its_result(staff_client, staff_user):
    staff_client.post("/sync/run/")
    request = SyncRun.objects.get()

    sync.run_sync(broker=PaperBroker(), request=request)

    page = staff_client.get(f"/sync/?run={request.pk}").content.decode()
    request.refresh_from_db()
    assert request.outcome == SyncOutcome.OK
    assert f"Sync #{request.pk}:" in page and "finished:" in page


def test_a_request_that_failed_shows_why(staff_client):
    failed = SyncRunFactory(outcome=SyncOutcome.FAILED, error="kotak: MPIN validation refused")
    page = staff_client.get(f"/sync/?run={failed.pk}").content.decode()
    assert "failed: kotak: MPIN validation refused" in page


def test_sync_without_csrf_token_is_refused(staff_user, no_sync_in_the_worker):
    client = logged_in_client(staff_user, enforce_csrf_checks=True)
    assert client.post("/sync/run/").status_code == 403
    assert not SyncRun.objects.exists()
