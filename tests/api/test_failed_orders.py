"""The failed-buy queue over HTTP: list, queue, drop."""

import pytest

from orderstate.models import EventSource, FailedOrder, FailedOrderStatus, OrderEvent
from tests.clients import api_client_for

FAILED = "/api/v1/failed-orders/"
ENTRY = {
    "symbol": "TCS-EQ",
    "ticker": "TCS.NS",
    "quantity": 5,
    "reference_price": "3500.00",
    "reason": "insufficient funds",
    "metadata": {"rsi10": 25.1},
}


def queue(client, **overrides):
    return client.post(FAILED, {**ENTRY, **overrides}, format="json")


def test_queue_a_failed_buy_answers_201(trader_api, trader):
    response = queue(trader_api)

    assert response.status_code == 201
    body = response.json()
    assert body["symbol"] == "TCS"
    assert body["trading_symbol"] == "TCS-EQ"
    assert body["reference_price"] == "3500.00"
    assert body["status"] == "WAITING"
    assert body["retry_count"] == 0
    assert body["metadata"] == {"rsi10": 25.1}
    assert body["expires_at"].endswith("09:15:00+05:30")
    event = OrderEvent.objects.get(kind="failed_order")
    assert (event.source, event.actor) == (EventSource.API, trader)


def test_queue_again_counts_a_retry_and_answers_200(trader_api):
    first = queue(trader_api).json()

    again = queue(trader_api)

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["retry_count"] == 1


def test_list_and_get_one(trader_api):
    entry = queue(trader_api).json()

    assert trader_api.get(FAILED).json()["results"][0]["id"] == entry["id"]
    assert trader_api.get(f"{FAILED}{entry['id']}/").json()["symbol"] == "TCS"
    assert trader_api.get(FAILED, {"status": "expired"}).json()["count"] == 0


def test_delete_drops_a_waiting_entry(trader_api):
    entry = queue(trader_api).json()

    response = trader_api.delete(f"{FAILED}{entry['id']}/")

    assert response.status_code == 204
    assert FailedOrder.objects.get().status == FailedOrderStatus.EXPIRED


def test_delete_of_a_dropped_entry_is_409(trader_api):
    entry = queue(trader_api).json()
    trader_api.delete(f"{FAILED}{entry['id']}/")

    response = trader_api.delete(f"{FAILED}{entry['id']}/")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_delete_of_an_unknown_entry_is_404(trader_api):
    assert trader_api.delete(f"{FAILED}12345/").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "no such symbol"}, "symbol"),
        ({"reference_price": "-1"}, "reference_price"),
        ({"metadata": {"qty": 3}}, "metadata"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
    ],
)
def test_bad_entry_is_400_naming_the_field(trader_api, overrides, field):
    response = queue(trader_api, **overrides)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not FailedOrder.objects.exists()


def test_reader_gets_403_on_queue_and_drop(trader_api, viewer_api):
    entry = queue(trader_api).json()

    assert queue(viewer_api, symbol="INFY").status_code == 403
    assert viewer_api.delete(f"{FAILED}{entry['id']}/").status_code == 403
    assert FailedOrder.objects.count() == 1


def test_account_scoped_token_cannot_drop_other_accounts_entries(trader_api, trader):
    entry = queue(trader_api).json()
    scoped = api_client_for(trader, account="other")

    assert scoped.delete(f"{FAILED}{entry['id']}/").status_code == 404
    assert FailedOrder.objects.get().status == FailedOrderStatus.WAITING
