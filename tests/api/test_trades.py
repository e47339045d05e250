"""Positions: read them; they are opened by BUY fills, never by hand."""

import pytest

from orderstate.models import Trade
from tests.api.bodies import register
from tests.clients import api_client_for

TRADES = "/api/v1/trades/"


@pytest.fixture
def position(trader_api):
    """10 TCS bought at 3500 through the API: an open trade."""
    register(
        trader_api, broker_order_id="B1", side="BUY", symbol="TCS-EQ", price="3500.00", metadata={}
    )
    trader_api.post("/api/v1/orders/B1/execute/", {"price": "3500.00"}, format="json")
    return Trade.objects.get()


def test_list_shows_the_position_with_its_entry_order(trader_api, position):
    body = trader_api.get(TRADES).json()

    assert body["count"] == 1
    trade = body["results"][0]
    assert trade["symbol"] == "TCS"
    assert trade["status"] == "OPEN"
    assert trade["entry_price"] == "3500.0000"
    assert trade["entry_order"] == "B1"
    assert trade["open_quantity"] == 10
    assert trade["entry_time"].endswith("+05:30")


def test_get_one_trade(trader_api, position):
    response = trader_api.get(f"{TRADES}{position.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == position.pk


def test_closed_trade_has_exit_and_pnl(trader_api, position):
    register(trader_api, broker_order_id="S1", symbol="TCS", price="3600.00", metadata={})
    trader_api.post("/api/v1/orders/S1/execute/", {"price": "3600.00"}, format="json")

    trade = trader_api.get(f"{TRADES}{position.pk}/").json()

    assert trade["status"] == "CLOSED"
    assert trade["exit_order"] == "S1"
    assert trade["realised_pnl"] == "1000.00"


@pytest.mark.parametrize(("status", "count"), [("open", 1), ("CLOSED", 0)])
def test_filter_by_status(trader_api, position, status, count):
    assert trader_api.get(TRADES, {"status": status}).json()["count"] == count


def test_filter_by_unknown_status_is_400(trader_api):
    response = trader_api.get(TRADES, {"status": "HALF"})

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_unknown_trade_is_404(trader_api):
    assert trader_api.get(f"{TRADES}999999/").status_code == 404
    assert trader_api.get(f"{TRADES}abc/").status_code == 404


def test_trade_id_beyond_bigint_is_404_not_500(trader_api):
    assert trader_api.get(f"{TRADES}{'9' * 18}/").status_code == 404
    assert trader_api.get(f"{TRADES}{'9' * 30}/").status_code == 404


def test_post_is_405_with_the_way_to_open_a_position(trader_api):
    response = trader_api.post(TRADES, {"symbol": "TCS", "quantity": 1}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "register a BUY order" in response.json()["detail"]
    assert not Trade.objects.exists()


def test_account_scoped_token_sees_only_its_trades(trader, position):
    scoped = api_client_for(trader, account="other")

    assert scoped.get(TRADES).json()["count"] == 0
    assert scoped.get(f"{TRADES}{position.pk}/").status_code == 404


def test_anonymous_is_401(anonymous_api):
    assert anonymous_api.get(TRADES).status_code == 401
