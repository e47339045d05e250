"""Actions on one order: fills, execute, cancel, events. Each answers with the whole order."""

from decimal import Decimal

import pytest

from orderstate.models import EventSource, Order, Trade, TradeStatus
from orderstate.states import Status
from tests.api.bodies import register

ORDER = "/api/v1/orders/240101000001/"


@pytest.fixture
def sell(trader_api):
    return register(trader_api).json()


@pytest.fixture
def bought(trader_api):
    """A BUY of 10 RELIANCE executed, so a SELL has a position to close."""
    register(trader_api, broker_order_id="B1", side="BUY", price="2400.00", metadata={})
    trader_api.post("/api/v1/orders/B1/execute/", {"price": "2400.00"}, format="json")


def post(client, action, body, order=ORDER, **headers):
    return client.post(f"{order}{action}/", body, format="json", **headers)


def test_fill_moves_to_partially_filled_and_answers_as_get(trader_api, sell):
    response = post(trader_api, "fills", {"quantity": 4, "price": "2500.00", "fill_id": "T1"})

    assert response.status_code == 200
    assert response.json() == trader_api.get(ORDER).json()
    assert response.json()["status"] == "PARTIALLY_FILLED"
    assert response.json()["filled_quantity"] == 4
    assert response.json()["average_price"] == "2500.0000"
    assert response["ETag"] == f'"{response.json()["version"]}"'


def test_fill_with_a_known_fill_id_is_applied_once(trader_api, sell):
    first = post(trader_api, "fills", {"quantity": 4, "price": "2500.00", "fill_id": "T1"}).json()

    again = post(trader_api, "fills", {"quantity": 4, "price": "2500.00", "fill_id": "T1"})

    assert again.status_code == 200
    assert again.json() == first
    assert Order.objects.get().filled_quantity == 4


def test_fills_that_complete_the_quantity_execute_the_order(trader_api, sell):
    post(trader_api, "fills", {"quantity": 4, "price": "2500.00", "fill_id": "T1"})

    body = post(trader_api, "fills", {"quantity": 6, "price": "2510.00", "fill_id": "T2"}).json()

    assert body["status"] == "EXECUTED"
    assert body["average_price"] == "2506.0000"
    assert body["closed_at"] is not None


def test_fill_beyond_the_quantity_is_400_naming_quantity(trader_api, sell):
    response = post(trader_api, "fills", {"quantity": 11, "price": "2500.00"})

    assert response.status_code == 400
    assert "quantity" in response.json()["fields"]
    assert Order.objects.get().filled_quantity == 0


def test_fill_of_a_cancelled_order_is_409(trader_api, sell):
    post(trader_api, "cancel", {"reason": "bot stopped"})

    response = post(trader_api, "fills", {"quantity": 1, "price": "2500.00"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_execute_marks_executed_and_closes_the_position(trader_api, bought, sell):
    response = post(trader_api, "execute", {"price": "2550.00"})

    assert response.status_code == 200
    assert response.json()["status"] == "EXECUTED"
    assert response.json()["filled_quantity"] == 10
    trade = Trade.objects.get()
    assert trade.status == TradeStatus.CLOSED
    assert trade.realised_pnl == 1500


def test_execute_repeated_is_a_no_op(trader_api, sell):
    first = post(trader_api, "execute", {"price": "2550.00"}).json()

    again = post(trader_api, "execute", {"price": "2550.00", "quantity": 10})

    assert again.status_code == 200
    assert again.json()["version"] == first["version"]


def test_execute_with_a_partial_quantity_is_400(trader_api, sell):
    response = post(trader_api, "execute", {"price": "2550.00", "quantity": 3})

    assert response.status_code == 400
    assert "quantity" in response.json()["fields"]


def test_execute_out_of_a_terminal_state_is_409_invalid_transition(trader_api, sell):
    post(trader_api, "cancel", {})

    response = post(trader_api, "execute", {"price": "2550.00"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert Order.objects.get().status == Status.CANCELLED


def test_execute_at_another_price_after_execution_is_409(trader_api, sell):
    post(trader_api, "execute", {"price": "2550.00"})

    response = post(trader_api, "execute", {"price": "2560.00"})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert Order.objects.get().average_price == Decimal("2550.00")


def test_cancel_stops_tracking_with_the_reason(trader_api, sell, trader):
    response = post(trader_api, "cancel", {"reason": "target moved"})

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    assert response.json()["status_reason"] == "target moved"
    assert trader_api.get("/api/v1/active-sell-orders/").json() == {}
    event = Order.objects.get().events.get(kind="cancelled")
    assert (event.source, event.actor) == (EventSource.API, trader)


def test_cancel_as_rejected(trader_api, sell):
    response = post(trader_api, "cancel", {"reason": "RMS: margin", "status": "rejected"})

    assert response.json()["status"] == "REJECTED"


def test_cancel_repeated_is_a_no_op(trader_api, sell):
    first = post(trader_api, "cancel", {"reason": "x"}).json()

    again = post(trader_api, "cancel", {"reason": "x"})

    assert again.status_code == 200
    assert again.json()["version"] == first["version"]


def test_cancel_to_another_status_is_400(trader_api, sell):
    response = post(trader_api, "cancel", {"status": "EXECUTED"})

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_cancel_of_an_executed_order_is_409(trader_api, sell):
    post(trader_api, "execute", {"price": "2550.00"})

    response = post(trader_api, "cancel", {})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_cancel_with_stale_if_match_is_412_and_changes_nothing(trader_api, sell):
    post(trader_api, "fills", {"quantity": 1, "price": "2500.00"})

    response = post(trader_api, "cancel", {}, HTTP_IF_MATCH='"1"')

    assert response.status_code == 412
    assert Order.objects.get().status == Status.PARTIALLY_FILLED


def test_cancel_with_current_if_match_applies(trader_api, sell):
    response = post(trader_api, "cancel", {}, HTTP_IF_MATCH='"1"')

    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    assert Order.objects.get().status == Status.CANCELLED


def test_events_list_the_audit_trail_oldest_first(trader_api, sell):
    post(trader_api, "fills", {"quantity": 4, "price": "2500.00", "fill_id": "T1"})
    post(trader_api, "cancel", {"reason": "done"})

    body = trader_api.get(f"{ORDER}events/").json()

    assert [event["kind"] for event in body["results"]] == ["registered", "fill", "cancelled"]
    assert body["results"][0]["actor"] == "trader"
    assert body["results"][0]["source"] == "api"
    assert body["results"][2]["from_status"] == "PARTIALLY_FILLED"


@pytest.mark.parametrize("action", ["fills", "execute", "cancel"])
def test_actions_on_an_unknown_order_are_404(trader_api, action):
    response = post(
        trader_api, action, {"quantity": 1, "price": "1.00"}, order="/api/v1/orders/nope/"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("action", ["fills", "execute", "cancel"])
def test_actions_by_a_read_only_user_are_403(trader_api, viewer_api, sell, action):
    response = post(viewer_api, action, {"quantity": 1, "price": "2500.00"})

    assert response.status_code == 403
    assert Order.objects.get().version == 1


def test_events_of_an_unknown_order_are_404(trader_api):
    assert trader_api.get("/api/v1/orders/nope/events/").status_code == 404
