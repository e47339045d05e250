"""Text no database can store (a lone UTF-16 surrogate: "\\ud800" is valid JSON) is refused
with a 400 naming the field wherever text enters, on SQLite and PostgreSQL alike; a row
stored with such text before the check reads back without failing."""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.exceptions import ValidationError as ApiValidationError

from orderstate.api.parsers import ApiJSONParser
from orderstate.brokers.base import BadBrokerRow
from orderstate.brokers.kotak_report import parse_order
from orderstate.errors import ValidationError
from orderstate.legacy import records
from orderstate.legacy.fields import RecordError
from orderstate.models import FailedOrder, Order, OrderEvent
from tests.api.bodies import ORDERS, SELL
from tests.kotak_book import row

pytestmark = pytest.mark.django_db

LONE = "\ud800"


def post_raw(client, url, body):
    """POST `body` (JSON text, escapes kept as written) as the bot's client would send it."""
    return client.post(url, data=body.encode(), content_type="application/json")


def registration(metadata_json):
    fields = json.dumps({key: value for key, value in SELL.items() if key != "metadata"})
    return fields[:-1] + f', "metadata": {metadata_json}}}'


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ('{"note": "\\ud800"}', "metadata.note"),
        ('{"signals": [{"why": "\\udfff x"}]}', "metadata.signals.0.why"),
        ('{"\\ud800": 1}', "metadata"),
        ('{"nested": {"\\udc00": "x"}}', "metadata.nested"),
    ],
)
def test_registration_with_a_lone_surrogate_in_metadata_is_400(trader_api, metadata, field):
    response = post_raw(trader_api, ORDERS, registration(metadata))

    assert response.status_code == 400, response.content[:300]
    assert field in response.json()["fields"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("field", ["ticker", "symbol", "broker_order_id", "exchange"])
def test_a_lone_surrogate_in_any_text_field_is_400_naming_it(trader_api, field):
    body = json.dumps({**SELL, field: "X"}).replace('"X"', '"RELI\\ud800"')

    response = post_raw(trader_api, ORDERS, body)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Order.objects.exists()


def test_a_lone_surrogate_in_a_cancel_reason_is_400(trader_api, manager, tcs_sell_order):
    response = post_raw(trader_api, f"{ORDERS}S-100/cancel/", '{"reason": "gone \\ud800"}')

    assert response.status_code == 400
    assert "reason" in response.json()["fields"]
    assert Order.objects.get(broker_order_id="S-100").is_active


def test_failed_buy_with_a_lone_surrogate_is_400_and_a_later_retry_counts(trader_api):
    refused = post_raw(
        trader_api,
        "/api/v1/failed-orders/",
        '{"symbol": "TCS", "quantity": 1, "metadata": {"why": "\\ud800"}}',
    )
    first = trader_api.post("/api/v1/failed-orders/", {"symbol": "TCS", "quantity": 1}, "json")
    retry = trader_api.post("/api/v1/failed-orders/", {"symbol": "TCS", "quantity": 1}, "json")

    assert refused.status_code == 400
    assert "metadata.why" in refused.json()["fields"]
    assert (first.status_code, retry.status_code) == (201, 200)
    assert FailedOrder.objects.get().retry_count == 1


def test_the_manager_refuses_a_lone_surrogate_in_ticker_and_metadata(manager):
    with pytest.raises(ValidationError) as ticker:
        manager.register_sell_order("TCS-EQ", "S-1", "10.00", 1, ticker=f"TCS{LONE}")
    with pytest.raises(ValidationError) as metadata:
        manager.register_sell_order("TCS-EQ", "S-1", "10.00", 1, why={LONE: 1})

    assert "ticker" in ticker.value.fields
    assert "metadata.why" in metadata.value.fields
    assert not Order.objects.exists()


def test_the_admin_refuses_metadata_with_a_lone_surrogate(superuser_client, tcs_sell_order):
    url = f"/admin/orderstate/order/{tcs_sell_order.pk}/change/"

    response = superuser_client.post(url, {"metadata": '{"rsi10": "\\ud800"}', "note": ""})

    assert response.status_code == 200  # the form again, with its error
    assert "surrogate" in response.content.decode()
    assert Order.objects.get(pk=tcs_sell_order.pk).metadata == {"rsi10": 28.5}


def test_a_legacy_record_with_a_lone_surrogate_is_refused_naming_the_field():
    record = {"order_id": "1", "symbol": "TCS", "qty": 1, "price": 10, "ticker": f"T{LONE}"}

    with pytest.raises(RecordError, match=r"record\.ticker"):
        records.parse_order(record, "pending_orders.json", 0)


@pytest.mark.parametrize("key", ["rejRsn", "ordSt"])
def test_a_broker_row_with_a_lone_surrogate_is_a_bad_row(key):
    raw = row("240101000009", "TCS", "S", "rejected", 5)
    raw[key] = f"{raw[key] or 'x'}{LONE}"

    with pytest.raises(BadBrokerRow, match=key):
        parse_order(raw)


# Rows stored before the check (only SQLite ever kept such text) ----------------------


@pytest.fixture
def stored_with_a_lone_surrogate(tcs_sell_order):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite ever stored a lone surrogate (PostgreSQL refuses it)")
    Order.objects.filter(pk=tcs_sell_order.pk).update(metadata={"note": f"bad {LONE}"})
    OrderEvent.objects.filter(order=tcs_sell_order).update(data={LONE: "x"})
    return tcs_sell_order


def test_a_stored_lone_surrogate_reads_back_as_the_replacement_character(
    trader_api, stored_with_a_lone_surrogate
):
    listed = trader_api.get(ORDERS)
    one = trader_api.get(f"{ORDERS}S-100/")
    events = trader_api.get(f"{ORDERS}S-100/events/")

    assert listed.status_code == one.status_code == events.status_code == 200
    assert one.json()["metadata"] == {"note": "bad \ufffd"}
    assert events.json()["results"][0]["data"] == {"\ufffd": "x"}


def test_a_stored_lone_surrogate_does_not_break_the_order_page(
    viewer_client, stored_with_a_lone_surrogate
):
    assert viewer_client.get("/orders/S-100/").status_code == 200
    assert viewer_client.get("/").status_code == 200


def test_a_stored_lone_surrogate_does_not_break_export_legacy(
    tmp_path, stored_with_a_lone_surrogate
):
    call_command("export_legacy", data_dir=tmp_path, stdout=io.StringIO())

    exported = (tmp_path / "pending_orders.json").read_text(encoding="utf-8")
    assert "bad \ufffd" in json.loads(exported)["orders"][0]["note"] or "\ufffd" in exported


def test_a_surrogate_smuggled_through_the_body_charset_is_400(trader_api):
    body = registration('{"note": "x"}').replace('"x"', '"\\ud800"')

    response = trader_api.generic(
        "POST",
        ORDERS,
        body.encode(),
        content_type="application/json; charset=unicode_escape",
    )

    assert response.status_code == 400
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [(b'{"a": "\\ud800"}', "utf-8"), (b'{"a": "\\ud800"}', "unicode_escape")],
)
def test_the_api_parser_refuses_a_surrogate_however_the_body_spells_it(raw, encoding):
    with pytest.raises(ApiValidationError):
        ApiJSONParser().parse(io.BytesIO(raw), parser_context={"encoding": encoding})
