"""The Kotak adapter against the real SDK's failure shapes: lost sessions in every form,
the IST day change, refused logins that no retry can fix, and SDK versions without
`transport`. The broker is faked at the HTTP boundary (`httpx.MockTransport`)."""

import os
import tomllib
from datetime import datetime

import httpx
import pytest

from orderstate.brokers import kotak
from orderstate.brokers.base import BrokerLoginRefused, BrokerUnavailable
from orderstate.brokers.kotak import KotakBroker
from orderstate.market import IST
from tests.kotak_book import load
from tests.kotak_server import CREDENTIALS, KotakServer, broker_for, ok
from tests.paths import ROOT

os.environ.setdefault("NEO_LOG_FILE_ENABLED", "false")
neo_api_client = pytest.importorskip("neo_api_client")

HTML_403 = httpx.Response(
    403, text="<html><body>403 Forbidden</body></html>", headers={"content-type": "text/html"}
)


@pytest.mark.parametrize(
    "lost",
    [
        httpx.Response(403, json=load("session_expired")),
        ok(load("session_expired_login_check")),
        httpx.Response(401, json=load("gateway_900901")),
        httpx.Response(401, json=load("gateway_900901_invalid_jwt")),
        HTML_403,
        ok({"stat": "Not_Ok", "desc": "Invalid session, please re-login to continue"}),
    ],
    ids=["100022", "login-check", "900901", "900901-jwt", "html-403", "text-in-desc"],
)
def test_a_lost_session_in_any_shape_logs_in_again_on_the_retry(lost):
    server = KotakServer(lost, ok(load("order_report_mixed")))
    broker, delays = broker_for(server)

    assert len(broker.fetch_order_book()) == 13
    assert server.logins == 2
    assert len(delays) == 1


def test_a_rate_limit_keeps_the_session():
    limited = httpx.Response(429, json=load("order_report_rate_limited"))
    server = KotakServer(limited, ok(load("order_report_mixed")))
    broker, _ = broker_for(server)

    broker.fetch_order_book()

    assert server.logins == 1


class Clock:
    def __init__(self, moment):
        self.moment = moment

    def __call__(self):
        return self.moment


def test_a_new_ist_day_logs_in_again_before_the_first_call():
    server = KotakServer(*[ok(load("order_report_mixed")) for _ in range(3)])
    clock = Clock(datetime(2026, 7, 24, 15, 0, tzinfo=IST))
    broker = KotakBroker(
        CREDENTIALS, transport=httpx.MockTransport(server), sleep=lambda s: None, clock=clock
    )

    broker.fetch_order_book()
    clock.moment = datetime(2026, 7, 24, 23, 59, tzinfo=IST)
    broker.fetch_order_book()
    assert server.logins == 1
    clock.moment = datetime(2026, 7, 25, 0, 1, tzinfo=IST)
    broker.fetch_order_book()

    assert server.logins == 2
    assert len(server.book_requests) == 3  # no failed call was needed to notice


@pytest.mark.parametrize(
    ("refusal", "fix"),
    [
        # Kotak documents no wrong-TOTP/MPIN body; these are the SDK's own test mocks
        # (tests/unit/test_totp.py) in Kotak's error shapes.
        (ok({"stat": "Not_Ok", "message": "Invalid credentials"}), "KOTAK_TOTP_SECRET"),
        (httpx.Response(401, json=load("gateway_900901")), "KOTAK_TOTP_SECRET"),
        (ok(load("ip_not_whitelisted")), "Add IP"),
    ],
    ids=["wrong-totp", "900901", "ip-not-whitelisted"],
)
def test_a_refused_login_ends_the_call_at_once_saying_what_to_fix(refusal, fix):
    server = KotakServer(ok(load("order_report_mixed")), logins=[refusal])
    broker, delays = broker_for(server, attempts=4)

    with pytest.raises(BrokerLoginRefused, match=fix):
        broker.fetch_order_book()

    assert server.logins == 1
    assert delays == []
    assert server.book_requests == []


def test_a_wrong_mpin_is_not_retried():
    def handler(request):
        if request.url.path.endswith("tradeApiValidate"):
            handler.validations += 1
            return httpx.Response(
                401, json={"stCode": 401, "errMsg": "Invalid MPIN", "status": "failure"}
            )
        return KotakServer()(request)

    handler.validations = 0
    broker = KotakBroker(
        CREDENTIALS, transport=httpx.MockTransport(handler), attempts=4, sleep=lambda s: None
    )

    with pytest.raises(BrokerLoginRefused, match="KOTAK_MPIN"):
        broker.fetch_order_book()
    assert handler.validations == 1


def test_an_order_api_saying_the_ip_is_not_whitelisted_is_not_retried():
    server = KotakServer(ok(load("ip_not_whitelisted")), ok(load("order_report_mixed")))
    broker, delays = broker_for(server)

    with pytest.raises(BrokerLoginRefused, match="static-IP rule"):
        broker.fetch_order_book()
    assert len(server.book_requests) == 1 and delays == []


def test_a_login_that_cannot_reach_kotak_is_retried():
    server = KotakServer(
        ok(load("order_report_mixed")), logins=[httpx.ConnectError("connection refused")]
    )
    broker, delays = broker_for(server)

    assert len(broker.fetch_order_book()) == 13
    assert server.logins == 2 and len(delays) == 1


def test_a_login_answered_by_an_overloaded_kotak_is_retried():
    busy = httpx.Response(
        503, json={"error": [{"code": "503", "message": "Trade API service is unavailable"}]}
    )
    server = KotakServer(ok(load("order_report_mixed")), logins=[busy])
    broker, _ = broker_for(server)

    assert len(broker.fetch_order_book()) == 13
    assert server.logins == 2


class SdkWithoutTransport:
    """`NeoAPI.__init__` as in kotakneoapi 3.0.0 and 3.0.1: no `transport` argument."""

    def __init__(self, consumer_key=None, environment="prod", access_token=None, neo_fin_key=None):
        self.consumer_key = consumer_key


def test_without_a_transport_none_is_passed_so_an_older_sdk_still_builds(monkeypatch):
    monkeypatch.setattr(neo_api_client, "NeoAPI", SdkWithoutTransport)

    client = kotak._new_client(CREDENTIALS, None)

    assert isinstance(client, SdkWithoutTransport)
    assert client.consumer_key == "consumer-key"


def test_the_sdk_extras_ask_for_a_version_with_transport():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]

    for extra in ("kotak", "dev"):
        assert "kotakneoapi>=3.0.6" in extras[extra], extra


def test_other_books_are_read_through_the_sdk():
    server = KotakServer(
        trades=[ok(load("trade_report_ok"))],
        positions=[ok(load("positions_ok"))],
        holdings=[ok(load("holdings_ok"))],
    )
    broker, _ = broker_for(server)

    trades = broker.fetch_trade_book()
    holdings = broker.fetch_holdings()

    assert len(trades) == 5 and trades.skipped == 1  # the nse_fo fill is skipped
    assert holdings["TCS"].quantity == 5
    assert holdings["IDEA"].quantity == 35  # holdings; the MIS position is not delivery
    assert "TCS26JULFUT" not in holdings
    assert [name for name, _ in server.requests] == ["trades", "positions", "holdings"]


def test_a_trade_book_with_a_lost_session_logs_in_again():
    server = KotakServer(trades=[ok(load("session_expired")), ok(load("no_data"))])
    broker, _ = broker_for(server)

    assert list(broker.fetch_trade_book()) == []
    assert server.logins == 2


def test_holdings_that_are_not_json_are_retried_then_unavailable():
    server = KotakServer(positions=[ok(load("no_data"))] * 2, holdings=[HTML_403, HTML_403])
    broker, _ = broker_for(server, attempts=2)

    with pytest.raises(BrokerUnavailable, match="holdings unavailable after 2 tries"):
        broker.fetch_holdings()
