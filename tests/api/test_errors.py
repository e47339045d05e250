"""Every error is JSON {"code", "detail", "fields"?}; no input gives a 500 or changes anything."""

import json

import pytest

from orderstate.errors import ValidationError
from orderstate.models import Order, OrderEvent
from tests.api.bodies import SELL, register

ORDERS = "/api/v1/orders/"
ORDER = "/api/v1/orders/240101000001/"

NASTY_VALUES = [
    None,
    True,
    "",
    " ",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e999",
    1e308,
    -1,
    0,
    10**400,
    "9" * 500,
    "١٢٣",
    "\u0663\u066b\u0665",  # Arabic-Indic 3.5
    "१२३",
    "\x00",
    "A\x00B",
    "é" * 5000,
    "\U0001d7d9\U0001d7da\U0001d7db",  # mathematical 123
    "💰",
    [],
    {},
    [1, 2],
    {"a": {"b": None}},
    "2500.001",
    "0.00",
    "1e-9",
    "0x10",
]


def assert_error_body(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["detail"], str) and body["detail"]
    for messages in body.get("fields", {}).values():
        assert all(isinstance(message, str) for message in messages)
    return body


@pytest.fixture
def order(trader_api):
    return register(trader_api).json()


def post_raw(client, path, body, content_type="application/json"):
    return client.generic("POST", path, body, content_type=content_type)


@pytest.mark.parametrize("field", ["broker_order_id", "symbol", "side", "quantity", "price"])
@pytest.mark.parametrize("value", NASTY_VALUES, ids=lambda v: repr(v)[:20])
def test_nasty_register_values_are_400_naming_the_field(trader_api, field, value):
    response = register(trader_api, **{field: value})

    if response.status_code in (200, 201):
        # Only free text takes some of these: an order id or a symbol may read "NaN" or
        # "0x10". A side, a quantity or a price never does.
        assert field in ("broker_order_id", "symbol"), response.json()
        assert response.json()[field] in (str(value), str(value).upper())
        return
    body = assert_error_body(response, 400)
    assert field in body["fields"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("action", ["fills", "execute", "cancel"])
@pytest.mark.parametrize("value", NASTY_VALUES, ids=lambda v: repr(v)[:20])
def test_nasty_action_values_never_500(trader_api, order, action, value):
    body = {"quantity": value, "price": value, "fill_id": value, "reason": value, "status": value}

    response = trader_api.post(f"{ORDER}{action}/", body, format="json")

    assert response.status_code < 500
    if response.status_code >= 400:
        assert_error_body(response, response.status_code)


@pytest.mark.parametrize("value", NASTY_VALUES, ids=lambda v: repr(v)[:20])
def test_nasty_price_patch_is_400_and_changes_nothing(trader_api, order, value):
    response = trader_api.patch(ORDER, {"price": value}, format="json")

    assert_error_body(response, 400)
    assert Order.objects.get().version == 1


@pytest.mark.parametrize(
    "raw",
    ["{", '{"price": }', "not json", '{"price": NaN}', '{"price": Infinity}', "\xff\xfe"],
)
def test_malformed_json_is_400_parse_error(trader_api, order, raw):
    response = post_raw(trader_api, ORDERS, raw)

    assert assert_error_body(response, 400)["code"] == "parse_error"


@pytest.mark.parametrize("raw", ["[]", "null", "42", '"text"', "[1, 2]"])
def test_json_that_is_not_an_object_is_400(trader_api, raw):
    assert_error_body(post_raw(trader_api, ORDERS, raw), 400)


def test_empty_body_is_400_naming_the_required_fields(trader_api):
    body = assert_error_body(post_raw(trader_api, ORDERS, ""), 400)

    assert {"broker_order_id", "symbol", "side", "quantity"} <= set(body["fields"])


def test_form_encoded_body_is_415(trader_api):
    response = post_raw(trader_api, ORDERS, "symbol=TCS", "application/x-www-form-urlencoded")

    assert assert_error_body(response, 415)["code"] == "unsupported_media_type"


def test_unknown_fields_are_400_naming_them(trader_api):
    body = assert_error_body(register(trader_api, target_pice="1.00"), 400)

    assert "target_pice" in body["fields"]


def test_over_long_strings_are_400(trader_api):
    body = assert_error_body(
        register(trader_api, broker_order_id="1" * 65, ticker="T" * 41, account="a" * 65), 400
    )

    assert {"broker_order_id", "ticker", "account"} <= set(body["fields"])


def test_nul_in_metadata_is_400(trader_api):
    body = assert_error_body(register(trader_api, metadata={"note": "a\x00b"}), 400)

    assert "metadata.note" in body["fields"]


def test_huge_metadata_is_400(trader_api):
    body = assert_error_body(register(trader_api, metadata={"blob": "x" * 20_000}), 400)

    assert "metadata" in body["fields"]
    assert not Order.objects.exists()


def test_unicode_symbol_is_400_not_500(trader_api):
    body = assert_error_body(register(trader_api, symbol="रिलायंस"), 400)

    assert "symbol" in body["fields"]


def test_unicode_metadata_is_stored(trader_api):
    response = register(trader_api, metadata={"note": "लक्ष्य 🎯"})

    assert response.status_code == 201
    assert response.json()["metadata"] == {"note": "लक्ष्य 🎯"}


def test_placed_at_out_of_range_is_400(trader_api):
    body = assert_error_body(register(trader_api, placed_at="0001-01-01T00:00:00+14:00"), 400)

    assert "placed_at" in body["fields"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing/",
        "/api/v1/orders/1/unknown/",
        "/api/v2/orders/",
        "/api/",
        "/api/v1/orders/%00/",
        "/api/v1/orders/" + "9" * 300 + "/",
        "/api/v1/failed-orders/abc/",
    ],
)
def test_unknown_paths_under_api_are_404_json(trader_api, path):
    assert assert_error_body(trader_api.get(path), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", ORDER),
        ("delete", ORDER),
        ("delete", ORDERS),
        ("get", f"{ORDER}fills/"),
        ("patch", "/api/v1/trades/"),
    ],
)
def test_wrong_method_is_405(trader_api, order, method, path):
    response = getattr(trader_api, method)(path, {}, format="json")

    assert assert_error_body(response, 405)["code"] == "method_not_allowed"


@pytest.mark.parametrize("page", ["0", "abc", "99999999999999999999999", "-1"])
def test_a_page_that_is_not_a_whole_number_from_1_is_400_json(trader_api, page):
    body = assert_error_body(trader_api.get(ORDERS, {"page": page}), 400)

    assert "page" in body["fields"]


def test_a_page_past_the_last_is_404_json(trader_api):
    assert_error_body(trader_api.get(ORDERS, {"page": "2"}), 404)


@pytest.mark.parametrize(
    "query",
    [
        {"page_size": "-1"},
        {"page_size": "1e9"},
        {"status": "\x00"},
        {"symbol": "\x00"},
        {"account": "\x00"},
        {"active": "maybe"},
        {"updated_since": "9999-12-31T23:59:59-12:00"},
        {"updated_since": "0001-01-01T00:00:00+14:00"},
        {"status": "," * 100},
    ],
)
def test_odd_query_strings_never_500(trader_api, order, query):
    response = trader_api.get(ORDERS, query)

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert_error_body(response, 400)


def test_bad_token_is_401_json(anonymous_api):
    response = anonymous_api.get(ORDERS, HTTP_AUTHORIZATION="Token not-a-real-token")

    assert assert_error_body(response, 401)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


def test_errors_change_nothing(trader_api, order):
    events = OrderEvent.objects.count()

    trader_api.post(f"{ORDER}fills/", {"quantity": 99, "price": "1.00"}, format="json")
    trader_api.post(f"{ORDER}execute/", {"price": "NaN"}, format="json")
    trader_api.post(f"{ORDER}cancel/", {"status": "EXECUTED"}, format="json")
    trader_api.patch(ORDER, {"price": "0"}, format="json")
    register(trader_api, quantity=99)

    assert Order.objects.get().version == 1
    assert OrderEvent.objects.count() == events


def test_order_ids_are_matched_exactly(trader_api):
    register(trader_api, broker_order_id=" 42 ")

    assert trader_api.get("/api/v1/orders/42/").json()["broker_order_id"] == "42"
    assert register(trader_api, broker_order_id="a/b").status_code == 400


def test_error_body_round_trips_through_json(trader_api):
    body = register(trader_api, quantity="many").json()

    assert json.loads(json.dumps(body)) == body
    assert body["code"] == "validation_error"
    assert body["detail"].startswith("quantity:")
    assert SELL["quantity"] == 10


def test_json_nested_too_deeply_to_parse_is_400(trader_api):
    raw = '{"a":' * 5000 + "1" + "}" * 5000

    assert assert_error_body(post_raw(trader_api, ORDERS, raw), 400)["code"] == "parse_error"


def test_metadata_nested_too_deeply_is_400(trader_api):
    nested = {}
    for _ in range(50):
        nested = {"a": nested}

    body = assert_error_body(register(trader_api, metadata=nested), 400)

    assert "metadata" in body["fields"]


def test_body_beyond_the_upload_limit_is_413_json(trader_api):
    raw = json.dumps({**SELL, "metadata": {"blob": "x" * 3_000_000}})

    body = assert_error_body(post_raw(trader_api, ORDERS, raw), 413)
    assert body["code"] == "request_too_large"


@pytest.mark.parametrize("accept", ["application/xml", "text/html"])
def test_unsupported_accept_is_406_json(trader_api, accept):
    response = trader_api.get(ORDERS, HTTP_ACCEPT=accept)

    assert assert_error_body(response, 406)["code"] == "not_acceptable"


@pytest.mark.parametrize("order_id", [".", "..", "a/b", "a\\b", " .. "])
def test_ids_a_url_path_cannot_carry_are_400(trader_api, order_id):
    body = assert_error_body(register(trader_api, broker_order_id=order_id), 400)

    assert "broker_order_id" in body["fields"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("order_id", ["...", "1.2", "A-1.b"])
def test_ids_with_dots_inside_still_register_and_read_back(trader_api, order_id):
    assert register(trader_api, broker_order_id=order_id).status_code == 201

    assert trader_api.get(f"/api/v1/orders/{order_id}/").json()["broker_order_id"] == order_id


def test_the_manager_refuses_dot_ids_too(manager):
    with pytest.raises(ValidationError):
        manager.register_sell_order("TCS-EQ", "..", "10.00", 1)
