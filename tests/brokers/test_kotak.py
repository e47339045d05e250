"""The Kotak adapter, driven through the real SDK with an httpx.MockTransport.

`NeoAPI(..., transport=...)` in kotakneoapi 3.x hands the transport to its
httpx client, so these tests run the SDK's own login, request and parsing code
against recorded bodies, with no network.
"""

import os
import subprocess
import sys

import httpx
import pytest

from orderstate.brokers import get_broker
from orderstate.brokers.base import BrokerLoginRefused, BrokerUnavailable
from orderstate.brokers.kotak import KotakBroker, KotakCredentials
from orderstate.manager import OrderStateManager
from orderstate.models import Order, OrderEvent, SyncOutcome
from orderstate.states import Status
from orderstate.sync import run_sync
from tests.kotak_book import load
from tests.kotak_server import CREDENTIALS, KotakServer, broker_for, ok

# As the adapter does: no SDK log file under ./logs from the tests.
os.environ.setdefault("NEO_LOG_FILE_ENABLED", "false")
pytest.importorskip("neo_api_client")


def test_order_book_is_fetched_through_the_sdk():
    server = KotakServer(ok(load("order_report_mixed")))
    broker, delays = broker_for(server)

    book = broker.fetch_order_book()

    assert len(book) == 13
    assert {order.status for order in book} >= {Status.EXECUTED, Status.REJECTED, Status.OPEN}
    assert server.logins == 1
    request = server.book_requests[0]
    validated = load("totp_validate_ok")["data"]
    assert request.headers["Auth"] == validated["token"]
    assert request.headers["Sid"] == validated["sid"]
    assert delays == []


def test_login_happens_once_for_many_fetches():
    server = KotakServer(ok(load("order_report_mixed")), ok(load("order_report_mixed")))
    broker, _ = broker_for(server)

    broker.fetch_order_book()
    broker.fetch_order_book()

    assert server.logins == 1


def test_rate_limit_is_retried_with_growing_jittered_backoff():
    limited = httpx.Response(429, json=load("order_report_rate_limited"))
    server = KotakServer(limited, limited, ok(load("order_report_mixed")))
    broker, delays = broker_for(server, attempts=4)

    book = broker.fetch_order_book()

    assert len(book) == 13
    assert len(delays) == 2
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0


def test_not_ok_every_time_raises_one_broker_unavailable():
    server = KotakServer(*[ok(load("order_report_rate_limited")) for _ in range(3)])
    broker, delays = broker_for(server, attempts=3)

    with pytest.raises(BrokerUnavailable, match="after 3 tries"):
        broker.fetch_order_book()

    assert len(server.book_requests) == 3
    assert len(delays) == 2


def test_timeouts_are_retried_then_raise_broker_unavailable():
    timeouts = [httpx.ReadTimeout("timed out") for _ in range(3)]
    broker, _ = broker_for(KotakServer(*timeouts), attempts=3)

    with pytest.raises(BrokerUnavailable, match="timeout"):
        broker.fetch_order_book()


@pytest.mark.parametrize(
    "garbage",
    [
        httpx.Response(200, text="<html>Service Unavailable</html>"),
        httpx.Response(200, content=b"\x00\xff\xfe not json"),
        ok("maintenance"),
        ok(42),
        ok({"stat": "Ok", "data": "oops"}),
        ok({"stat": "Ok", "data": {"nOrdNo": "240621000000001"}}),
    ],
    ids=["html", "binary", "json-string", "json-number", "data-string", "data-object"],
)
def test_garbage_body_is_retried_then_raises_broker_unavailable(garbage):
    server = KotakServer(garbage, garbage, garbage)
    broker, delays = broker_for(server, attempts=3)

    with pytest.raises(BrokerUnavailable, match="after 3 tries"):
        broker.fetch_order_book()

    assert len(server.book_requests) == 3
    assert len(delays) == 2


def test_garbage_then_a_good_book_recovers():
    server = KotakServer(ok({"stat": "Ok", "data": "oops"}), ok(load("order_report_mixed")))
    broker, delays = broker_for(server)

    assert len(broker.fetch_order_book()) == 13
    assert len(delays) == 1


def test_backoff_is_jittered_and_capped():
    broker = KotakBroker(CREDENTIALS, base_delay=1.0, max_delay=5.0, sleep=lambda s: None)

    third = [broker._delay(3) for _ in range(50)]
    late = [broker._delay(12) for _ in range(50)]

    assert all(2.0 <= delay <= 4.0 for delay in third)
    assert len(set(third)) > 1  # jitter: retries of many bots do not line up
    assert all(2.5 <= delay <= 5.0 for delay in late)


def test_server_error_page_is_retried():
    page = httpx.Response(502, text="<html>Bad Gateway</html>")
    server = KotakServer(page, ok(load("order_report_mixed")))
    broker, delays = broker_for(server)

    assert len(broker.fetch_order_book()) == 13
    assert len(delays) == 1


def test_empty_book_answer_is_an_empty_book():
    broker, _ = broker_for(KotakServer(ok(load("no_data"))))
    assert list(broker.fetch_order_book()) == []


class FakeClient:
    """The SDK object faked at its boundary: `order_report()` replays the given answers."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def order_report(self):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_none_from_the_sdk_is_retried_then_unavailable():
    broker = KotakBroker(client=FakeClient(None, None), attempts=2, sleep=lambda s: None)
    with pytest.raises(BrokerUnavailable, match="returned None"):
        broker.fetch_order_book()


def test_error_dict_from_the_sdk_is_retried():
    answers = ({"Error": TimeoutError("read timed out")}, load("order_report_mixed"))
    broker = KotakBroker(client=FakeClient(*answers), attempts=2, sleep=lambda s: None)
    assert len(broker.fetch_order_book()) == 13


def test_missing_credentials_name_the_variables_and_are_not_retried(monkeypatch):
    for name in ("KOTAK_CONSUMER_KEY", "KOTAK_MPIN", "KOTAK_TOTP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    broker = get_broker("kotak")
    delays = []
    broker.sleep = delays.append
    with pytest.raises(BrokerLoginRefused, match="KOTAK_CONSUMER_KEY"):
        broker.fetch_order_book()
    assert delays == []


def test_credentials_come_from_the_environment(monkeypatch, tmp_path):
    secret_file = tmp_path / "mpin"
    secret_file.write_text("654321\n")
    monkeypatch.setenv("KOTAK_CONSUMER_KEY", "ck")
    monkeypatch.setenv("KOTAK_MOBILE_NUMBER", "+919876543210")
    monkeypatch.setenv("KOTAK_UCC", "YA1234")
    monkeypatch.setenv("KOTAK_MPIN_FILE", str(secret_file))
    monkeypatch.setenv("KOTAK_TOTP_SECRET", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")

    credentials = KotakCredentials.from_environment()

    assert credentials.mpin == "654321"
    assert credentials.environment == "prod"


def test_sdk_is_imported_only_when_kotak_is_chosen():
    code = (
        "import os, sys, django;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'orderstate.settings');"
        "django.setup();"
        "from orderstate import sync;"
        "from orderstate.brokers import get_broker;"
        "get_broker('replay', file='x.json');"
        "print('neo_api_client' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(429, json=load("order_report_rate_limited")),
        httpx.ReadTimeout("timed out"),
        httpx.Response(200, text="<html>Service Unavailable</html>"),
    ],
    ids=["rate-limited", "timeout", "garbage"],
)
def test_sync_through_a_failing_kotak_fails_the_run_and_changes_nothing(failure):
    bot = OrderStateManager(source="bot")
    bot.register_buy_order("TCS-EQ", "240621000000001", "3890.00", 5)
    before = list(
        Order.objects.values_list("status", "filled_quantity", "version", "missing_count")
    )
    server = KotakServer(failure, failure, failure)
    broker, delays = broker_for(server, attempts=3)

    run = run_sync(broker=broker)

    assert run.outcome == SyncOutcome.FAILED
    assert "after 3 tries" in run.error and run.finished_at is not None
    assert len(server.book_requests) == 3 and len(delays) == 2
    after = list(Order.objects.values_list("status", "filled_quantity", "version", "missing_count"))
    assert after == before
    assert OrderEvent.objects.filter(order__isnull=False).count() == 1  # the registration only
