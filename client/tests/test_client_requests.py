"""OrderStateClient against httpx.MockTransport: requests and shapes, error mapping, retries.

End to end against a live server: the server's tests/client/test_end_to_end.py.
"""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import fake_api
import httpx
import pytest

from orderstate_client import (
    NotAuthenticated,
    OrderStateClient,
    PermissionDenied,
    RemoteOrder,
    ServiceUnavailable,
    Throttled,
    errors,
)

ORDER = {
    "id": 7,
    "account": "default",
    "broker_order_id": "S-1",
    "symbol": "RELIANCE-EQ",
    "base_symbol": "RELIANCE",
    "ticker": "RELIANCE.NS",
    "exchange": "NSE",
    "side": "SELL",
    "order_type": "LIMIT",
    "variety": "REGULAR",
    "product": "CNC",
    "quantity": 10,
    "price": "2500.00",
    "trigger_price": None,
    "filled_quantity": 0,
    "average_price": None,
    "status": "PENDING",
    "status_reason": "",
    "broker_status": "",
    "metadata": {"rsi10": 28.4},
    "version": 1,
    "placed_at": "2026-11-25T09:20:00+05:30",
    "updated_at": "2026-11-25T09:20:00+05:30",
    "closed_at": None,
    "last_synced_at": None,
    "missing_count": 0,
    "source": "bot",
    "events_url": "http://testserver/api/v1/orders/S-1/events/",
}
ACTIVE_SELLS = {
    "RELIANCE": {
        "order_id": "S-1",
        "target_price": 2500.0,
        "qty": 10,
        "symbol": "RELIANCE-EQ",
        "ticker": "RELIANCE.NS",
    }
}


class FakeApi(fake_api.FakeApi):
    def body(self, index=-1):
        return json.loads(self.requests[index].content)


def make_client(api, **options):
    sleeps = []
    client = OrderStateClient(
        "http://orderstate.test",
        "abcd1234.secret",
        transport=httpx.MockTransport(api),
        sleep=sleeps.append,
        **options,
    )
    client.sleeps = sleeps
    return client


def ok(data, status=200, **headers):
    return httpx.Response(status, json=data, headers=headers)


def error(status, code, detail="nope", **extra):
    return httpx.Response(status, json={"code": code, "detail": detail, **extra})


# Requests and shapes -------------------------------------------------------------


def test_register_sell_order_posts_the_order_and_returns_a_read_only_order():
    api = FakeApi(ok(ORDER, 201))
    order = make_client(api).register_sell_order(
        "RELIANCE-EQ", "S-1", 2500.0, 10, ticker="RELIANCE.NS", rsi10=28.4, replace=True
    )
    request = api.requests[0]
    assert (request.method, request.url.path) == ("POST", "/api/v1/orders/")
    assert request.headers["Authorization"] == "Token abcd1234.secret"
    assert api.body() == {
        "side": "SELL",
        "symbol": "RELIANCE-EQ",
        "broker_order_id": "S-1",
        "price": "2500.00",
        "quantity": 10,
        "ticker": "RELIANCE.NS",
        "replace": True,
        "metadata": {"rsi10": 28.4},
    }
    assert isinstance(order, RemoteOrder)
    assert (order.broker_order_id, order.status, order.quantity) == ("S-1", "PENDING", 10)
    assert order.price == Decimal("2500.00") and order.average_price is None
    assert order.placed_at.utcoffset().total_seconds() == 5.5 * 3600
    assert order.is_active and order.remaining_quantity == 10
    with pytest.raises(AttributeError):
        order.status = "EXECUTED"


def test_register_buy_order_without_price_is_a_market_order():
    api = FakeApi(ok({**ORDER, "side": "BUY", "price": None, "order_type": "MARKET"}, 201))
    make_client(api).register_buy_order("TCS", "B-9", qty=5)
    assert api.body()["order_type"] == "MARKET"
    assert "price" not in api.body()


def test_bad_input_is_refused_before_any_request():
    api = FakeApi()
    client = make_client(api)
    with pytest.raises(errors.ValidationError, match="price"):
        client.register_sell_order("TCS", "S-2", float("nan"), 1)
    with pytest.raises(errors.ValidationError, match="qty"):
        client.register_sell_order("TCS", "S-2", "10.00", 0)
    with pytest.raises(errors.ValidationError, match="status"):
        client.remove_from_tracking("TCS", status="EXECUTED")
    assert api.requests == []


def test_mark_executed_without_order_id_finds_the_symbols_active_sell_order():
    api = FakeApi(ok(ACTIVE_SELLS), ok({**ORDER, "status": "EXECUTED", "filled_quantity": 10}))
    order = make_client(api).mark_order_executed("reliance", None, "2510.5")
    assert api.requests[0].url.path == "/api/v1/active-sell-orders/"
    assert api.requests[1].url.path == "/api/v1/orders/S-1/execute/"
    assert api.body()["price"] == "2510.5000"
    assert order.status == "EXECUTED"


def test_mark_executed_without_order_id_and_no_active_sell_is_not_found():
    api = FakeApi(ok({}))
    with pytest.raises(errors.OrderNotFound):
        make_client(api).mark_order_executed("TCS", None, "100")


def test_mark_executed_with_order_id_refuses_another_symbols_order_before_writing():
    api = FakeApi(ok(ORDER))
    with pytest.raises(errors.ValidationError, match="RELIANCE, not TCS"):
        make_client(api).mark_order_executed("TCS", "S-1", "100")
    assert [r.method for r in api.requests] == ["GET"]


def test_order_ids_are_quoted_into_the_path():
    api = FakeApi(ok(ORDER))
    make_client(api).record_fill("A B/1", 2, "2500", fill_id="T1")
    assert api.requests[0].url.raw_path == b"/api/v1/orders/A%20B%2F1/fills/"
    assert api.body() == {"quantity": 2, "price": "2500.0000", "fill_id": "T1"}


def test_update_sell_order_price_is_false_without_an_active_sell_order():
    api = FakeApi(ok({}))
    assert make_client(api).update_sell_order_price("TCS", 100) is False
    assert len(api.requests) == 1


def test_update_sell_order_price_patches_the_active_order():
    api = FakeApi(ok(ACTIVE_SELLS), ok({**ORDER, "price": "2550.00"}))
    assert make_client(api).update_sell_order_price("RELIANCE-EQ", 2550) is True
    assert (api.requests[1].method, api.requests[1].url.path) == ("PATCH", "/api/v1/orders/S-1/")
    assert api.body() == {"price": "2550.00"}


def test_remove_from_tracking_is_false_when_the_order_closed_after_the_lookup():
    api = FakeApi(ok(ACTIVE_SELLS), error(409, "invalid_transition"), ok({}))
    assert make_client(api).remove_from_tracking("RELIANCE", reason="target hit") is False
    assert api.requests[1].url.path == "/api/v1/orders/S-1/cancel/"
    assert json.loads(api.requests[1].content) == {"reason": "target hit", "status": "CANCELLED"}


def test_get_active_order_by_any_spelling_of_the_symbol():
    api = FakeApi(ok(ACTIVE_SELLS), ok(ACTIVE_SELLS))
    client = make_client(api)
    assert client.get_active_order("reliance-eq")["order_id"] == "S-1"
    assert client.get_active_order("TCS") is None


def test_get_pending_orders_follows_pages_and_returns_the_legacy_shape():
    second = {**ORDER, "id": 8, "broker_order_id": "B-2", "side": "BUY", "price": None}
    second["placed_at"] = "2026-11-25T09:10:00+05:30"
    api = FakeApi(
        ok(
            {"count": 2, "next": "http://orderstate.test/api/v1/orders/?page=2", "results": [ORDER]}
        ),
        ok({"count": 2, "next": None, "results": [second]}),
    )
    pending = make_client(api).get_pending_orders()
    assert api.requests[0].url.params["status"] == "PARTIALLY_FILLED,OPEN,PENDING"
    assert [p["order_id"] for p in pending] == ["B-2", "S-1"]
    assert pending[1] == {
        "rsi10": 28.4,
        "order_id": "S-1",
        "symbol": "RELIANCE-EQ",
        "ticker": "RELIANCE.NS",
        "side": "SELL",
        "qty": 10,
        "order_type": "LIMIT",
        "variety": "REGULAR",
        "price": 2500.0,
        "placed_at": "2026-11-25T09:20:00",
        "last_status_check": None,
        "status": "PENDING",
        "rejection_reason": None,
        "check_count": 0,
        "executed_qty": 0,
    }


TRADE = {
    "id": 3,
    "symbol": "RELIANCE",
    "ticker": "RELIANCE.NS",
    "quantity": 10,
    "entry_price": "2400.0000",
    "entry_time": "2026-11-24T10:00:00+05:30",
    "entry_order": "B-1",
    "exit_price": "2500.0000",
    "exit_time": "2026-11-25T11:00:00+05:30",
    "exit_order": "S-1",
    "exit_reason": "",
    "status": "CLOSED",
    "realised_pnl": "1000.00",
    "metadata": {"placed_symbol": "RELIANCE-EQ"},
}
FAILED = {
    "id": 4,
    "symbol": "TCS",
    "trading_symbol": "TCS-EQ",
    "ticker": "TCS.NS",
    "quantity": 3,
    "reference_price": "3500.00",
    "reason": "insufficient funds",
    "first_failed_at": "2026-11-25T09:16:00+05:30",
    "last_retry_at": None,
    "retry_count": 0,
    "status": "WAITING",
    "metadata": {},
    "expires_at": "2026-11-26T09:15:00+05:30",
}


def test_get_trade_history_in_the_legacy_shape():
    api = FakeApi(ok({"next": None, "results": [TRADE]}), ok({"next": None, "results": [FAILED]}))
    history = make_client(api).get_trade_history()
    assert history["trades"] == [
        {
            "placed_symbol": "RELIANCE-EQ",
            "symbol": "RELIANCE",
            "ticker": "RELIANCE.NS",
            "entry_price": 2400.0,
            "entry_time": "2026-11-24T10:00:00",
            "qty": 10,
            "status": "closed",
            "order_id": "B-1",
            "exit_price": 2500.0,
            "exit_time": "2026-11-25T11:00:00",
            "exit_reason": None,
            "sell_order_id": "S-1",
            "pnl": 1000.0,
            "pnl_pct": 4.17,
        }
    ]
    assert history["failed_orders"][0]["symbol"] == "TCS-EQ"
    assert history["failed_orders"][0]["close"] == 3500.0


def test_get_failed_orders_leaves_out_entries_past_the_next_market_open():
    expired = {**FAILED, "id": 5, "symbol": "INFY", "expires_at": "2026-11-25T09:15:00+05:30"}
    api = FakeApi(ok({"next": None, "results": [FAILED, expired]}))
    now = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    entries = make_client(api).get_failed_orders(now=now)
    assert [entry["symbol"] for entry in entries] == ["TCS-EQ"]
    assert entries[0]["first_failed_at"] == "2026-11-25T09:16:00"


def test_cleanup_expired_failed_orders_drops_only_expired_entries():
    expired = {**FAILED, "id": 5, "symbol": "INFY", "expires_at": "2026-11-25T09:15:00+05:30"}
    gone = {**expired, "id": 6, "symbol": "WIPRO"}
    api = FakeApi(
        ok({"next": None, "results": [FAILED, expired, gone]}),
        httpx.Response(204),
        error(409, "invalid_transition"),
    )
    now = datetime(2026, 11, 25, 12, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert make_client(api).cleanup_expired_failed_orders(now=now) == 1
    deleted = [(r.method, r.url.path) for r in api.requests[1:]]
    assert deleted == [
        ("DELETE", "/api/v1/failed-orders/5/"),
        ("DELETE", "/api/v1/failed-orders/6/"),
    ]


def test_add_failed_order_posts_the_entry_and_is_not_retried_after_a_timeout():
    api = FakeApi(ok(FAILED, 201))
    entry = make_client(api).add_failed_order(
        "TCS-EQ", "TCS.NS", 3, 3500.0, "insufficient funds", rsi10=25.0
    )
    assert entry["id"] == 4
    assert api.body() == {
        "symbol": "TCS-EQ",
        "ticker": "TCS.NS",
        "quantity": 3,
        "reason": "insufficient funds",
        "reference_price": "3500.00",
        "metadata": {"rsi10": 25.0},
    }
    api = FakeApi(httpx.ReadTimeout("slow"), ok(FAILED, 201))
    with pytest.raises(ServiceUnavailable):
        make_client(api).add_failed_order("TCS", qty=3)
    assert len(api.requests) == 1


def test_sync_with_broker_waits_for_the_requested_run_and_returns_its_stats():
    api = FakeApi(
        ok({"id": 1, "outcome": "requested", "stats": {}}, 202),
        ok({"id": 1, "outcome": "running", "stats": {}}),
        ok({"id": 1, "outcome": "ok", "stats": {"checked": 4, "executed": 1}}),
    )
    assert make_client(api).sync_with_broker() == {"checked": 4, "executed": 1, "outcome": "ok"}
    assert [request.url.path for request in api.requests] == [
        "/api/v1/sync/",
        "/api/v1/sync-runs/1/",
        "/api/v1/sync-runs/1/",
    ]


def test_sync_with_broker_that_does_not_finish_in_time_says_so():
    api = FakeApi(ok({"id": 1, "outcome": "requested", "stats": {}}, 202))
    assert make_client(api).sync_with_broker(wait=0) == {"outcome": "requested"}


# Error mapping -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (error(400, "validation_error", fields={"price": ["bad"]}), errors.ValidationError),
        (error(404, "not_found"), errors.OrderNotFound),
        (error(409, "duplicate_order"), errors.DuplicateOrder),
        (error(409, "invalid_transition"), errors.InvalidTransition),
        (error(412, "stale_version"), errors.StaleVersion),
        (error(401, "authentication_failed"), NotAuthenticated),
        (error(403, "permission_denied"), PermissionDenied),
        (error(405, "method_not_allowed"), errors.OrderStateError),
        (httpx.Response(404, text="<html>not here</html>"), errors.OrderNotFound),
    ],
)
def test_4xx_answers_raise_the_managers_typed_errors(answer, expected):
    api = FakeApi(answer)
    with pytest.raises(expected) as caught:
        make_client(api).get_order("S-1")
    assert caught.value.status_code == answer.status_code
    assert len(api.requests) == 1, "a 4xx is never retried"


def test_validation_error_keeps_the_fields():
    api = FakeApi(error(400, "validation_error", "price: bad", fields={"price": ["bad"]}))
    with pytest.raises(errors.ValidationError) as caught:
        make_client(api).get_order("S-1")
    assert caught.value.fields == {"price": ["bad"]}
    assert caught.value.detail == "price: bad"


# Retries -------------------------------------------------------------------------


def test_idempotent_call_is_retried_after_connection_errors_and_503():
    api = FakeApi(
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        error(503, "database_unavailable"),
        ok(ORDER, 201),
    )
    client = make_client(api, retries=3, backoff=0.1, max_backoff=1.0)
    order = client.register_sell_order("RELIANCE", "S-1", "2500", 10)
    assert order.broker_order_id == "S-1"
    assert len(api.requests) == 4
    assert len(client.sleeps) == 3
    assert all(0 <= delay <= 1.0 for delay in client.sleeps)


def test_retries_are_bounded_and_end_in_service_unavailable():
    api = FakeApi(*[error(503, "database_unavailable")] * 3)
    client = make_client(api, retries=2)
    with pytest.raises(ServiceUnavailable):
        client.get_active_sell_orders()
    assert len(api.requests) == 3


def test_429_waits_as_long_as_retry_after_says_within_the_bound():
    api = FakeApi(error(429, "throttled", **{}), ok({}))
    api.answers[0].headers["Retry-After"] = "2"
    client = make_client(api, max_backoff=5)
    assert client.get_active_sell_orders() == {}
    assert client.sleeps == [2.0]


def test_429_after_the_retries_raises_throttled():
    api = FakeApi(*[error(429, "throttled")] * 2)
    with pytest.raises(Throttled):
        make_client(api, retries=1).get_active_sell_orders()


def test_fill_without_fill_id_is_not_retried_after_the_request_may_have_arrived():
    api = FakeApi(httpx.ReadTimeout("slow"), ok(ORDER))
    with pytest.raises(ServiceUnavailable):
        make_client(api).record_fill("S-1", 2, "2500")
    assert len(api.requests) == 1


def test_fill_without_fill_id_is_retried_when_the_connection_was_refused():
    api = FakeApi(httpx.ConnectError("refused"), ok(ORDER))
    assert make_client(api).record_fill("S-1", 2, "2500").broker_order_id == "S-1"
    assert len(api.requests) == 2


def test_fill_with_fill_id_is_retried_after_a_timeout():
    api = FakeApi(httpx.ReadTimeout("slow"), ok(ORDER))
    make_client(api).record_fill("S-1", 2, "2500", fill_id="T1")
    assert len(api.requests) == 2


def test_backoff_grows_and_is_capped():
    client = make_client(FakeApi(), backoff=1.0, max_backoff=3.0)
    for attempt in range(6):
        assert 0 <= client._delay(attempt) <= min(3.0, 2**attempt)


def test_account_goes_with_every_request_and_registration():
    api = FakeApi(ok(ORDER, 201), ok({}))
    client = make_client(api, account="side")
    client.register_sell_order("RELIANCE", "S-1", "2500", 10)
    client.get_active_sell_orders()
    assert api.body(0)["account"] == "side"
    assert api.requests[1].url.params["account"] == "side"
