"""Orders: register, list with filters, read with ETag, change the price."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import EventSource, Order, OrderEvent
from orderstate.states import Status
from tests.api.bodies import SELL, register
from tests.clients import api_client_for

ORDERS = "/api/v1/orders/"


def detail(order_id):
    return f"{ORDERS}{order_id}/"


def test_register_answers_201_with_the_whole_order(trader_api, trader):
    response = register(trader_api)

    assert response.status_code == 201
    body = response.json()
    assert body["broker_order_id"] == "240101000001"
    assert body["symbol"] == "RELIANCE-EQ"
    assert body["base_symbol"] == "RELIANCE"
    assert body["price"] == "2500.00"
    assert body["average_price"] is None
    assert body["status"] == "PENDING"
    assert body["metadata"] == {"rsi10": 28.4, "ema9": 2410.5}
    assert body["placed_at"].endswith("+05:30")
    assert body["events_url"].endswith("/api/v1/orders/240101000001/events/")
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith("/api/v1/orders/240101000001/")
    event = OrderEvent.objects.get(order__broker_order_id="240101000001")
    assert (event.source, event.actor) == (EventSource.API, trader)


def test_order_json_has_every_model_field(trader_api):
    body = register(trader_api).json()

    expected = {
        "broker_order_id", "account", "symbol", "base_symbol", "ticker", "exchange", "side",
        "order_type", "variety", "product", "quantity", "price", "trigger_price",
        "filled_quantity", "average_price", "status", "status_reason", "broker_status",
        "trade", "metadata", "version", "placed_at", "updated_at", "closed_at",
        "last_synced_at", "missing_count", "source", "events_url",
    }  # fmt: skip
    assert expected <= set(body)


def test_identical_repeat_answers_200_with_the_same_order(trader_api):
    first = register(trader_api).json()

    again = register(trader_api)

    assert again.status_code == 200
    assert again.json() == first
    assert Order.objects.count() == 1


def test_same_id_with_other_fields_is_409_duplicate_order(trader_api):
    register(trader_api)

    response = register(trader_api, quantity=11)

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_order"
    assert "quantity" in response.json()["fields"]
    assert Order.objects.get().quantity == 10


def test_second_active_sell_for_a_symbol_is_409(trader_api):
    register(trader_api)

    response = register(trader_api, broker_order_id="240101000002", symbol="reliance")

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_order"
    assert Order.objects.count() == 1


def test_replace_cancels_the_active_sell_and_registers_the_new_one(trader_api):
    register(trader_api)

    response = register(trader_api, broker_order_id="240101000002", replace=True)

    assert response.status_code == 201
    old = Order.objects.get(broker_order_id="240101000001")
    assert old.status == Status.CANCELLED
    assert response.json()["status"] == "PENDING"


def test_buy_without_price_registers_a_market_order(trader_api):
    response = register(
        trader_api, broker_order_id="B1", side="buy", price=None, symbol="TCS", metadata={}
    )

    assert response.status_code == 201
    assert response.json()["order_type"] == "MARKET"
    assert response.json()["side"] == "BUY"


def test_sell_without_price_is_400_naming_price(trader_api):
    response = register(trader_api, price=None)

    assert response.status_code == 400
    assert "price" in response.json()["fields"]


def test_metadata_key_that_names_an_order_field_is_refused(trader_api):
    response = register(trader_api, metadata={"replace": True})

    assert response.status_code == 400
    assert "metadata" in response.json()["fields"]
    assert not Order.objects.exists()


def test_list_is_paginated(trader_api):
    for number in range(3):
        register(trader_api, broker_order_id=f"B{number}", side="BUY", symbol=f"SYM{number}")

    body = trader_api.get(ORDERS, {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].endswith("page=2&page_size=2")
    assert body["previous"] is None


@pytest.fixture
def three_orders(trader_api):
    register(trader_api)
    register(trader_api, broker_order_id="B1", side="BUY", symbol="TCS-EQ", price="3500.00")
    register(
        trader_api, broker_order_id="B2", side="BUY", symbol="INFY", price="1500.00", account="ira"
    )
    trader_api.post(f"{ORDERS}B1/cancel/", {"reason": "test"}, format="json")


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ({"status": "pending"}, {"240101000001", "B2"}),
        ({"status": "CANCELLED,pending"}, {"240101000001", "B1", "B2"}),
        ({"side": "buy"}, {"B1", "B2"}),
        ({"symbol": "tcs"}, {"B1"}),
        ({"symbol": "RELIANCE-EQ"}, {"240101000001"}),
        ({"active": "true"}, {"240101000001", "B2"}),
        ({"active": "false"}, {"B1"}),
        ({"account": "ira"}, {"B2"}),
    ],
)
def test_list_filters(trader_api, three_orders, query, ids):
    body = trader_api.get(ORDERS, query).json()

    assert {order["broker_order_id"] for order in body["results"]} == ids


def test_updated_since_filter(trader_api, three_orders):
    Order.objects.filter(broker_order_id="B2").update(updated_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    body = trader_api.get(ORDERS, {"updated_since": since}).json()

    assert "B2" not in {order["broker_order_id"] for order in body["results"]}
    assert body["count"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "DONE"}, "status"),
        ({"side": "SHORT"}, "side"),
        ({"symbol": "not a symbol!"}, "symbol"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"updated_since": "1900-01-01T00:00:00+05:30"}, "updated_since"),
        ({"account": "x" * 100}, "account"),
    ],
)
def test_bad_filter_is_400_naming_it(trader_api, query, field):
    response = trader_api.get(ORDERS, query)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_get_one_sends_its_version_as_etag(trader_api):
    register(trader_api)

    response = trader_api.get(detail("240101000001"))

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.json()["version"] == 1


def test_unknown_order_is_404_json(trader_api):
    response = trader_api.get(detail("nope"))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_patch_price_changes_it_and_bumps_the_etag(trader_api, trader):
    register(trader_api)

    response = trader_api.patch(
        detail("240101000001"), {"price": "2550.50"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 200
    assert response.json()["price"] == "2550.50"
    assert response["ETag"] == '"2"'
    event = OrderEvent.objects.filter(kind="price_updated").get()
    assert (event.source, event.actor) == (EventSource.API, trader)


def test_patch_with_stale_if_match_is_412_and_changes_nothing(trader_api):
    register(trader_api)
    trader_api.patch(detail("240101000001"), {"price": "2550.00"}, format="json")

    response = trader_api.patch(
        detail("240101000001"), {"price": "2600.00"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 412
    assert response.json()["code"] == "stale_version"
    assert Order.objects.get().price == 2550


def test_patch_with_unreadable_if_match_is_412(trader_api):
    register(trader_api)

    response = trader_api.patch(
        detail("240101000001"), {"price": "2600.00"}, format="json", HTTP_IF_MATCH="garbage"
    )

    assert response.status_code == 412
    assert response.json()["code"] == "stale_version"
    assert Order.objects.get().price == 2500


def test_patch_of_another_field_is_400_naming_it(trader_api):
    register(trader_api)

    response = trader_api.patch(detail("240101000001"), {"status": "EXECUTED"}, format="json")

    assert response.status_code == 400
    assert "status" in response.json()["fields"]
    assert Order.objects.get().status == Status.PENDING


def test_patch_price_of_a_cancelled_order_is_409(trader_api):
    register(trader_api)
    trader_api.post(detail("240101000001") + "cancel/", {}, format="json")

    response = trader_api.patch(detail("240101000001"), {"price": "2600.00"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_trailing_slash_is_optional(trader_api):
    assert register(trader_api).status_code == 201

    assert trader_api.get("/api/v1/orders/240101000001").status_code == 200
    assert trader_api.get("/api/v1/orders").status_code == 200


def test_anonymous_is_401(anonymous_api):
    response = anonymous_api.get(ORDERS)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_read_only_user_reads_but_gets_403_on_writes(trader_api, viewer_api):
    register(trader_api)

    assert viewer_api.get(ORDERS).status_code == 200
    response = register(viewer_api, broker_order_id="X2", side="BUY", symbol="TCS")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_read_only_token_gets_403_on_writes(trader):
    client = api_client_for(trader, read_only=True)

    response = register(client)

    assert response.status_code == 403
    assert not Order.objects.exists()


def test_account_scoped_token_sees_404_for_other_accounts(trader_api, trader):
    register(trader_api, account="ira")
    scoped = api_client_for(trader, account="main")

    assert scoped.get(detail("240101000001")).status_code == 404
    assert scoped.get(ORDERS).json()["count"] == 0
    response = scoped.post(detail("240101000001") + "cancel/", {}, format="json")
    assert response.status_code == 404
    assert Order.objects.get().status == Status.PENDING


def test_account_scoped_token_registers_in_its_account_only(trader):
    scoped = api_client_for(trader, account="main")

    assert register(scoped).json()["account"] == "main"
    assert register(scoped, broker_order_id="X9", account="ira").status_code == 403


def test_same_id_in_two_accounts_needs_the_account_parameter(trader_api):
    register(trader_api, account="a")
    register(trader_api, account="b")

    assert trader_api.get(detail(SELL["broker_order_id"])).status_code == 409
    response = trader_api.get(detail(SELL["broker_order_id"]), {"account": "b"})
    assert response.json()["account"] == "b"


def test_active_sell_orders_in_the_old_bots_shape(trader_api):
    register(trader_api)

    body = trader_api.get("/api/v1/active-sell-orders/").json()

    assert set(body) == {"RELIANCE"}
    assert body["RELIANCE"]["order_id"] == "240101000001"
    assert body["RELIANCE"]["target_price"] == 2500.0
    assert body["RELIANCE"]["qty"] == 10
    assert body["RELIANCE"]["rsi10"] == 28.4
