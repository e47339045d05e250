"""Input the API used to accept loosely: a known fill id with other figures, filter and
paging values it ignored, keys sent twice, bodies too large to read."""

import logging

import pytest

from orderstate.models import Fill, Order
from tests.api.bodies import ORDERS, register

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/orders/",
    "/api/v1/trades/",
    "/api/v1/failed-orders/",
    "/api/v1/sync-runs/",
    "/api/v1/orders/240101000001/events/",
]


@pytest.fixture
def registered(trader_api):
    assert register(trader_api).status_code == 201
    return trader_api


def fill(client, **body):
    return client.post(f"{ORDERS}240101000001/fills/", body, format="json")


def test_a_known_fill_id_repeated_with_the_same_figures_is_a_no_op(registered):
    first = fill(registered, quantity=3, price="2500.00", fill_id="T-1")
    again = fill(registered, quantity=3, price="2500.0000", fill_id="T-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["version"] == first.json()["version"]
    assert again.json()["filled_quantity"] == 3


@pytest.mark.parametrize(("quantity", "price"), [(4, "2500.00"), (3, "2501.00")])
def test_a_known_fill_id_with_another_quantity_or_price_is_409(registered, quantity, price):
    fill(registered, quantity=3, price="2500.00", fill_id="T-1")

    response = fill(registered, quantity=quantity, price=price, fill_id="T-1")

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_order"
    assert "fill_id" in response.json()["fields"]
    assert Order.objects.get().filled_quantity == 3
    assert Fill.objects.count() == 1


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    ("param", "value"),
    [("page_size", "0"), ("page_size", "-1"), ("page_size", "x"), ("page", "0"), ("page", "x")],
)
def test_bad_paging_values_are_400_naming_the_parameter(registered, url, param, value):
    response = registered.get(url, {param: value})

    assert response.status_code == 400, response.content[:200]
    assert param in response.json()["fields"]


@pytest.mark.parametrize(
    ("url", "param", "value"),
    [
        ("/api/v1/orders/", "active", "maybe"),
        ("/api/v1/orders/", "status", "SOLD"),
        ("/api/v1/orders/", "updated_since", "yesterday"),
        ("/api/v1/trades/", "status", "HALF"),
        ("/api/v1/failed-orders/", "status", "LOST"),
        ("/api/v1/sync-runs/", "outcome", "great"),
    ],
)
def test_bad_filter_values_are_400_naming_the_parameter(registered, url, param, value):
    response = registered.get(url, {param: value})

    assert response.status_code == 400, response.content[:200]
    assert param in response.json()["fields"]


@pytest.mark.parametrize(("value", "count"), [("true", 1), ("false", 0), ("1", 1), ("no", 0)])
def test_good_boolean_values_still_filter(registered, value, count):
    assert registered.get(ORDERS, {"active": value}).json()["count"] == count


def test_a_large_page_size_is_capped_not_refused(registered):
    assert registered.get(ORDERS, {"page_size": "100000"}).status_code == 200


def test_a_key_sent_twice_is_400_naming_it(trader_api):
    body = b'{"broker_order_id": "D-1", "symbol": "TCS", "side": "SELL", "quantity": 1, '
    body += b'"price": "10.00", "price": "99.00"}'

    response = trader_api.generic("POST", ORDERS, body, content_type="application/json")

    assert response.status_code == 400
    assert "price" in response.json()["fields"]
    assert not Order.objects.exists()


def test_a_body_too_large_is_a_413_and_one_warning_line(trader_api, settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = b'{"metadata": {"x": "' + b"x" * 5000 + b'"}}'

    with caplog.at_level(logging.INFO):
        response = trader_api.generic("POST", ORDERS, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    logged = [r for r in caplog.records if r.name == "django.security.RequestDataTooBig"]
    assert [(r.levelno, r.exc_info) for r in logged] == [(logging.WARNING, None)]
