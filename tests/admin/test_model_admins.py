from decimal import Decimal

import pytest

from orderstate.models import (
    EventKind,
    EventSource,
    FailedOrder,
    FailedOrderStatus,
    Order,
    OrderEvent,
    Trade,
    TradeStatus,
)
from orderstate.states import Status
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "order",
    "fill",
    "trade",
    "failedorder",
    "orderevent",
    "syncrun",
    "subscription",
    "outboxmessage",
    "position",
    "outsideholding",
]


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def act(client, action, orders, **fields):
    data = {"action": action, "_selected_action": [order.pk for order in orders], **fields}
    return client.post("/admin/orderstate/order/", data, follow=True)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_every_model_has_a_changelist(
    superuser_client, tcs_sell_order, closed_trade, model, django_assert_max_num_queries
):
    SyncRunFactory()
    with django_assert_max_num_queries(12):
        response = superuser_client.get(f"/admin/orderstate/{model}/")
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.model._meta.model_name == model
    assert changelist.result_count == changelist.model.objects.count()


def test_order_list_filters_and_searches(superuser_client, tcs_sell_order, executed_buy):
    by_status = superuser_client.get("/admin/orderstate/order/?status__exact=EXECUTED")
    by_id = superuser_client.get("/admin/orderstate/order/?q=S-100")
    assert list(by_status.context["cl"].result_list) == [executed_buy]
    assert list(by_id.context["cl"].result_list) == [tcs_sell_order]
    filters = {spec.title for spec in by_status.context["cl"].filter_specs}
    assert {"status", "side", "source", "placed at"} <= filters


def test_viewer_cannot_open_the_admin(viewer_client):
    response = viewer_client.get("/admin/orderstate/order/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/admin/orderstate/order/")


def test_orders_cannot_be_added_or_deleted(superuser_client, tcs_sell_order):
    assert superuser_client.get("/admin/orderstate/order/add/").status_code == 403
    assert (
        superuser_client.get(f"/admin/orderstate/order/{tcs_sell_order.pk}/delete/").status_code
        == 403
    )
    actions = superuser_client.get("/admin/orderstate/order/").context["action_form"]
    assert "delete_selected" not in dict(actions.fields["action"].choices)


def test_order_page_shows_the_event_log_read_only(superuser_client, tcs_sell_order):
    response = superuser_client.get(f"/admin/orderstate/order/{tcs_sell_order.pk}/change/")
    body = response.content.decode()
    assert "Event log" in body and "registered" in body
    inline = next(f for f in response.context["inline_admin_formsets"] if "Event" in str(f.opts))
    assert not inline.has_add_permission and not inline.has_change_permission
    assert not inline.has_delete_permission


def test_posting_status_or_price_on_the_order_page_changes_neither(
    superuser_client, tcs_sell_order
):
    superuser_client.post(
        f"/admin/orderstate/order/{tcs_sell_order.pk}/change/",
        {
            "status": "EXECUTED",
            "price": "1.00",
            "quantity": "999",
            "metadata": '{"rsi10": 28.5}',
            "note": "",
            **_inline_management(),
        },
    )
    tcs_sell_order.refresh_from_db()
    assert tcs_sell_order.status == Status.PENDING
    assert tcs_sell_order.price == Decimal("4050.00") and tcs_sell_order.quantity == 5


def test_metadata_edit_goes_through_the_manager_with_a_note(
    superuser_client, superuser, tcs_sell_order
):
    response = superuser_client.post(
        f"/admin/orderstate/order/{tcs_sell_order.pk}/change/",
        {"metadata": '{"rsi10": 31, "ema9": 4000}', "note": "RSI fixed", **_inline_management()},
    )
    assert response.status_code == 302
    tcs_sell_order.refresh_from_db()
    assert tcs_sell_order.metadata == {"rsi10": 31, "ema9": 4000}
    assert tcs_sell_order.version == 2
    event = tcs_sell_order.events.get(kind=EventKind.NOTE)
    assert event.actor == superuser and event.source == EventSource.ADMIN
    assert event.data == {"metadata_changed": ["ema9", "rsi10"], "note": "RSI fixed"}


def _inline_management():
    return {
        f"{prefix}-{name}": value
        for prefix in ("fills", "events")
        for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))
    }


@pytest.mark.parametrize("model", ["orderevent", "fill", "syncrun"])
def test_log_models_are_read_only(superuser_client, tcs_sell_order, model):
    assert superuser_client.get(f"/admin/orderstate/{model}/add/").status_code == 403


def test_events_cannot_be_changed_or_deleted(superuser_client, tcs_sell_order):
    event = OrderEvent.objects.get(order=tcs_sell_order)
    change = superuser_client.post(
        f"/admin/orderstate/orderevent/{event.pk}/change/", {"kind": "note", "source": "admin"}
    )
    delete = superuser_client.post(
        f"/admin/orderstate/orderevent/{event.pk}/delete/", {"post": "yes"}
    )
    assert change.status_code == 403 and delete.status_code == 403
    event.refresh_from_db()
    assert event.kind == EventKind.REGISTERED


def test_mark_executed_asks_for_a_price_first(superuser_client, tcs_sell_order):
    response = act(superuser_client, "mark_executed", [tcs_sell_order])
    assert "Execution price" in response.content.decode()
    assert Order.objects.get(pk=tcs_sell_order.pk).status == Status.PENDING


def test_mark_executed_with_a_price_calls_the_manager_as_the_staff_user(
    superuser_client, superuser, tcs_sell_order
):
    response = act(superuser_client, "mark_executed", [tcs_sell_order], apply="1", price="4051.25")
    assert messages_of(response) == ["Marked executed at 4051.25: TCS #S-100."]
    order = Order.objects.get()
    assert order.status == Status.EXECUTED and order.average_price == Decimal("4051.25")
    event = order.events.get(kind=EventKind.EXECUTED)
    assert event.actor == superuser and event.source == EventSource.ADMIN


@pytest.mark.parametrize("price", ["0", "-5", "abc", "nan"])
def test_mark_executed_with_a_bad_price_changes_nothing(superuser_client, tcs_sell_order, price):
    response = act(superuser_client, "mark_executed", [tcs_sell_order], apply="1", price=price)
    assert response.status_code == 200
    assert "Execution price" in response.content.decode()
    assert Order.objects.get().status == Status.PENDING


def test_cancel_and_reject_actions_record_the_reason(superuser_client, manager, tcs_sell_order):
    other = manager.register_buy_order("SBIN-EQ", "B-5", "600.00", 10)
    act(superuser_client, "cancel_orders", [tcs_sell_order], apply="1", reason="placed twice")
    act(superuser_client, "reject_orders", [other], apply="1", reason="broker refused, RMS")
    tcs_sell_order.refresh_from_db()
    other.refresh_from_db()
    assert (tcs_sell_order.status, tcs_sell_order.status_reason) == (
        Status.CANCELLED,
        "placed twice",
    )
    assert (other.status, other.status_reason) == (Status.REJECTED, "broker refused, RMS")


def test_cancel_needs_a_reason(superuser_client, tcs_sell_order):
    response = act(superuser_client, "cancel_orders", [tcs_sell_order], apply="1", reason="")
    assert "This field is required." in response.content.decode()
    assert Order.objects.get().status == Status.PENDING


def test_a_correction_the_state_table_forbids_is_refused_with_a_message(
    superuser_client, manager, tcs_sell_order
):
    manager.record_fill("S-100", 2, "4050.00")
    response = act(superuser_client, "reject_orders", [tcs_sell_order], apply="1", reason="late")
    [message] = messages_of(response)
    assert "cannot move from PARTIALLY_FILLED to REJECTED" in message
    assert Order.objects.get().status == Status.PARTIALLY_FILLED


def test_reopening_a_closed_trade_is_refused(superuser_client, closed_trade):
    response = superuser_client.post(
        "/admin/orderstate/trade/",
        {"action": "reopen_trades", "_selected_action": [closed_trade.pk]},
        follow=True,
    )
    [message] = messages_of(response)
    assert message.startswith("A closed trade cannot be reopened")
    assert Trade.objects.get(pk=closed_trade.pk).status == TradeStatus.CLOSED


def test_failed_order_actions_go_through_the_queue(superuser_client, superuser, manager):
    entry = manager.add_failed_order("ITC-EQ", qty=40, close="438.15", reason="funds")
    superuser_client.post(
        "/admin/orderstate/failedorder/",
        {"action": "drop_failed", "_selected_action": [entry.pk]},
    )
    entry.refresh_from_db()
    assert entry.status == FailedOrderStatus.EXPIRED
    superuser_client.post(
        "/admin/orderstate/failedorder/",
        {"action": "requeue_failed", "_selected_action": [entry.pk]},
    )
    entry.refresh_from_db()
    assert entry.status == FailedOrderStatus.WAITING
    actors = set(
        OrderEvent.objects.filter(
            kind=EventKind.FAILED_ORDER, source=EventSource.ADMIN
        ).values_list("actor", flat=True)
    )
    assert actors == {superuser.pk}
    assert FailedOrder.objects.count() == 1
