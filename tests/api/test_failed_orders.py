"""The failed-buy queue over HTTP: list, queue, drop."""

import pytest

from orderstate.models import EventSource, FailedOrder, FailedOrderStatus, OrderEvent
from tests.api_support import *  # noqa: F403
from tests.api_support import client_for

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


def test_queue_a_failed_buy_answers_201(api, writer):
    response = queue(api)

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
    assert (event.source, event.actor) == (EventSource.API, writer)


def test_queue_again_counts_a_retry_and_answers_200(api):
    first = queue(api).json()

    again = queue(api)

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["retry_count"] == 1


def test_list_and_get_one(api):
    entry = queue(api).json()

    assert api.get(FAILED).json()["results"][0]["id"] == entry["id"]
    assert api.get(f"{FAILED}{entry['id']}/").json()["symbol"] == "TCS"
    assert api.get(FAILED, {"status": "expired"}).json()["count"] == 0


def test_delete_drops_a_waiting_entry(api):
    entry = queue(api).json()

    response = api.delete(f"{FAILED}{entry['id']}/")

    assert response.status_code == 204
    assert FailedOrder.objects.get().status == FailedOrderStatus.EXPIRED


def test_delete_of_a_dropped_entry_is_409(api):
    entry = queue(api).json()
    api.delete(f"{FAILED}{entry['id']}/")

    response = api.delete(f"{FAILED}{entry['id']}/")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_delete_of_an_unknown_entry_is_404(api):
    assert api.delete(f"{FAILED}12345/").status_code == 404


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
def test_bad_entry_is_400_naming_the_field(api, overrides, field):
    response = queue(api, **overrides)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not FailedOrder.objects.exists()


def test_reader_gets_403_on_queue_and_drop(api, reader_api):
    entry = queue(api).json()

    assert queue(reader_api, symbol="INFY").status_code == 403
    assert reader_api.delete(f"{FAILED}{entry['id']}/").status_code == 403
    assert FailedOrder.objects.count() == 1


def test_account_scoped_token_cannot_drop_other_accounts_entries(api, writer):
    entry = queue(api).json()
    scoped = client_for(writer, account="other")

    assert scoped.delete(f"{FAILED}{entry['id']}/").status_code == 404
    assert FailedOrder.objects.get().status == FailedOrderStatus.WAITING
