"""Every face writes orders, trades and failed buys only through the actions: each change
leaves an event naming the user who made it, and fields the face may not touch stay put."""

from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from orderstate.models import (
    EventKind,
    EventSource,
    FailedOrder,
    FailedOrderStatus,
    OrderEvent,
    Trade,
    TradeStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "root-pass-1")


@pytest.fixture
def waiting_buy(manager):
    return manager.add_failed_order("ITC-EQ", "ITC.NS", qty=40, close="438.15", reason="funds")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def last_event():
    return OrderEvent.objects.order_by("-id").first()


def test_admin_trade_form_saves_notes_through_an_action_and_nothing_else(admin_user, open_position):
    trade = Trade.objects.get()
    page = f"/admin/orderstate/trade/{trade.pk}/change/"

    response = logged_in(admin_user).post(
        page,
        {
            "metadata": '{"note": "swing"}',
            "exit_reason": "manual review",
            "quantity": 999,
            "closed_quantity": 10,
            "realised_pnl": "1000000.00",
            "status": TradeStatus.CLOSED,
        },
    )

    assert response.status_code == 302
    trade.refresh_from_db()
    assert (trade.metadata, trade.exit_reason) == ({"note": "swing"}, "manual review")
    assert (trade.quantity, trade.closed_quantity, trade.realised_pnl, trade.status) == (
        10,
        0,
        None,
        TradeStatus.OPEN,
    )
    event = last_event()
    assert (event.kind, event.source, event.actor) == (
        EventKind.NOTE,
        EventSource.ADMIN,
        admin_user,
    )
    assert event.data["trade_id"] == trade.pk
    assert event.data["exit_reason"] == {"from": "", "to": "manual review"}


def test_admin_failed_buy_form_saves_metadata_through_an_action_and_nothing_else(
    admin_user, waiting_buy
):
    page = f"/admin/orderstate/failedorder/{waiting_buy.pk}/change/"

    response = logged_in(admin_user).post(
        page,
        {"metadata": '{"retry": "monday"}', "status": FailedOrderStatus.BOUGHT_MANUALLY},
    )

    assert response.status_code == 302
    waiting_buy.refresh_from_db()
    assert waiting_buy.metadata == {"retry": "monday"}
    assert waiting_buy.status == FailedOrderStatus.WAITING
    event = last_event()
    assert (event.kind, event.source, event.actor) == (
        EventKind.FAILED_ORDER,
        EventSource.ADMIN,
        admin_user,
    )
    assert event.data == {
        "failed_order_id": waiting_buy.pk,
        "symbol": "ITC",
        "metadata_changed": ["retry"],
    }


def test_api_drop_of_a_failed_buy_goes_through_the_manager_with_the_user(staff_user, waiting_buy):
    api = APIClient()
    api.force_authenticate(staff_user)

    response = api.delete(f"/api/v1/failed-orders/{waiting_buy.pk}/")

    assert response.status_code == 204
    waiting_buy.refresh_from_db()
    assert waiting_buy.status == FailedOrderStatus.EXPIRED
    event = last_event()
    assert (event.kind, event.source, event.actor) == (
        EventKind.FAILED_ORDER,
        EventSource.API,
        staff_user,
    )
    assert event.data["reason"] == "dropped"


def test_dashboard_drop_of_a_failed_buy_goes_through_the_manager_with_the_user(
    staff_user, waiting_buy
):
    response = logged_in(staff_user).post(f"/failed/{waiting_buy.pk}/drop/")

    assert response.status_code == 302
    assert FailedOrder.objects.get().status == FailedOrderStatus.EXPIRED
    event = last_event()
    assert (event.kind, event.source, event.actor) == (
        EventKind.FAILED_ORDER,
        EventSource.DASHBOARD,
        staff_user,
    )


def test_api_registration_of_a_buy_without_price_is_a_market_order(staff_user):
    api = APIClient()
    api.force_authenticate(staff_user)

    response = api.post(
        "/api/v1/orders/",
        {"broker_order_id": "B-1", "symbol": "TCS", "side": "BUY", "quantity": 5},
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["order_type"], response.json()["price"]) == ("MARKET", None)
    assert Decimal(0) == Decimal(response.json()["filled_quantity"])
