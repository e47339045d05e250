"""Orders: register, list with filters, read with ETag, change the price."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import EventSource, Order, OrderEvent
from orderstate.states import Status
from tests.api_support import *  # noqa: F403
from tests.api_support import SELL, client_for, register

ORDERS = "/api/v1/orders/"


def detail(order_id):
    return f"{ORDERS}{order_id}/"


def test_register_answers_201_with_the_whole_order(api, writer):
    response = register(api)

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
    assert (event.source, event.actor) == (EventSource.API, writer)


def test_order_json_has_every_model_field(api):
    body = register(api).json()

    expected = {
        "broker_order_id", "account", "symbol", "base_symbol", "ticker", "exchange", "side",
        "order_type", "variety", "product", "quantity", "price", "trigger_price",
        "filled_quantity", "average_price", "status", "status_reason", "broker_status",
        "trade", "metadata", "version", "placed_at", "updated_at", "closed_at",
        "last_synced_at", "missing_count", "source", "events_url",
    }  # fmt: skip
    assert expected <= set(body)


def test_identical_repeat_answers_200_with_the_same_order(api):
    first = register(api).json()

    again = register(api)

    assert again.status_code == 200
    assert again.json() == first
    assert Order.objects.count() == 1


def test_same_id_with_other_fields_is_409_duplicate_order(api):
    register(api)

    response = register(api, quantity=11)

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_order"
    assert "quantity" in response.json()["fields"]
    assert Order.objects.get().quantity == 10


def test_second_active_sell_for_a_symbol_is_409(api):
    register(api)

    response = register(api, broker_order_id="240101000002", symbol="reliance")

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_order"
    assert Order.objects.count() == 1


def test_replace_cancels_the_active_sell_and_registers_the_new_one(api):
    register(api)

    response = register(api, broker_order_id="240101000002", replace=True)

    assert response.status_code == 201
    old = Order.objects.get(broker_order_id="240101000001")
    assert old.status == Status.CANCELLED
    assert response.json()["status"] == "PENDING"


def test_buy_without_price_registers_a_market_order(api):
    response = register(
        api, broker_order_id="B1", side="buy", price=None, symbol="TCS", metadata={}
    )

    assert response.status_code == 201
    assert response.json()["order_type"] == "MARKET"
    assert response.json()["side"] == "BUY"


def test_sell_without_price_is_400_naming_price(api):
    response = register(api, price=None)

    assert response.status_code == 400
    assert "price" in response.json()["fields"]


def test_metadata_key_that_names_an_order_field_is_refused(api):
    response = register(api, metadata={"replace": True})

    assert response.status_code == 400
    assert "metadata" in response.json()["fields"]
    assert not Order.objects.exists()


def test_list_is_paginated(api):
    for number in range(3):
        register(api, broker_order_id=f"B{number}", side="BUY", symbol=f"SYM{number}")

    body = api.get(ORDERS, {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].endswith("page=2&page_size=2")
    assert body["previous"] is None


@pytest.fixture
def three_orders(api):
    register(api)
    register(api, broker_order_id="B1", side="BUY", symbol="TCS-EQ", price="3500.00")
    register(api, broker_order_id="B2", side="BUY", symbol="INFY", price="1500.00", account="ira")
    api.post(f"{ORDERS}B1/cancel/", {"reason": "test"}, format="json")


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
def test_list_filters(api, three_orders, query, ids):
    body = api.get(ORDERS, query).json()

    assert {order["broker_order_id"] for order in body["results"]} == ids


def test_updated_since_filter(api, three_orders):
    Order.objects.filter(broker_order_id="B2").update(updated_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    body = api.get(ORDERS, {"updated_since": since}).json()

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
def test_bad_filter_is_400_naming_it(api, query, field):
    response = api.get(ORDERS, query)

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_get_one_sends_its_version_as_etag(api):
    register(api)

    response = api.get(detail("240101000001"))

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.json()["version"] == 1


def test_unknown_order_is_404_json(api):
    response = api.get(detail("nope"))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_patch_price_changes_it_and_bumps_the_etag(api, writer):
    register(api)

    response = api.patch(
        detail("240101000001"), {"price": "2550.50"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 200
    assert response.json()["price"] == "2550.50"
    assert response["ETag"] == '"2"'
    event = OrderEvent.objects.filter(kind="price_updated").get()
    assert (event.source, event.actor) == (EventSource.API, writer)


def test_patch_with_stale_if_match_is_412_and_changes_nothing(api):
    register(api)
    api.patch(detail("240101000001"), {"price": "2550.00"}, format="json")

    response = api.patch(
        detail("240101000001"), {"price": "2600.00"}, format="json", HTTP_IF_MATCH='"1"'
    )

    assert response.status_code == 412
    assert response.json()["code"] == "stale_version"
    assert Order.objects.get().price == 2550


def test_patch_with_unreadable_if_match_is_412(api):
    register(api)

    response = api.patch(
        detail("240101000001"), {"price": "2600.00"}, format="json", HTTP_IF_MATCH="garbage"
    )

    assert response.status_code == 412


def test_patch_of_another_field_is_400_naming_it(api):
    register(api)

    response = api.patch(detail("240101000001"), {"status": "EXECUTED"}, format="json")

    assert response.status_code == 400
    assert "status" in response.json()["fields"]
    assert Order.objects.get().status == Status.PENDING


def test_patch_price_of_a_cancelled_order_is_409(api):
    register(api)
    api.post(detail("240101000001") + "cancel/", {}, format="json")

    response = api.patch(detail("240101000001"), {"price": "2600.00"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_trailing_slash_is_optional(api):
    assert register(api).status_code == 201

    assert api.get("/api/v1/orders/240101000001").status_code == 200
    assert api.get("/api/v1/orders").status_code == 200


def test_anonymous_is_401(anon):
    response = anon.get(ORDERS)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_read_only_user_reads_but_gets_403_on_writes(api, reader_api):
    register(api)

    assert reader_api.get(ORDERS).status_code == 200
    response = register(reader_api, broker_order_id="X2", side="BUY", symbol="TCS")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_read_only_token_gets_403_on_writes(writer):
    client = client_for(writer, read_only=True)

    response = register(client)

    assert response.status_code == 403
    assert not Order.objects.exists()


def test_account_scoped_token_sees_404_for_other_accounts(api, writer):
    register(api, account="ira")
    scoped = client_for(writer, account="main")

    assert scoped.get(detail("240101000001")).status_code == 404
    assert scoped.get(ORDERS).json()["count"] == 0
    response = scoped.post(detail("240101000001") + "cancel/", {}, format="json")
    assert response.status_code == 404
    assert Order.objects.get().status == Status.PENDING


def test_account_scoped_token_registers_in_its_account_only(writer):
    scoped = client_for(writer, account="main")

    assert register(scoped).json()["account"] == "main"
    assert register(scoped, broker_order_id="X9", account="ira").status_code == 403


def test_same_id_in_two_accounts_needs_the_account_parameter(api):
    register(api, account="a")
    register(api, account="b")

    assert api.get(detail(SELL["broker_order_id"])).status_code == 409
    response = api.get(detail(SELL["broker_order_id"]), {"account": "b"})
    assert response.json()["account"] == "b"


def test_active_sell_orders_in_the_old_bots_shape(api):
    register(api)

    body = api.get("/api/v1/active-sell-orders/").json()

    assert set(body) == {"RELIANCE"}
    assert body["RELIANCE"]["order_id"] == "240101000001"
    assert body["RELIANCE"]["target_price"] == 2500.0
    assert body["RELIANCE"]["qty"] == 10
    assert body["RELIANCE"]["rsi10"] == 28.4
