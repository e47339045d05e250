"""Kotak's order feed through the SDK's own websocket client, against a local server.

The SDK (`NeoAPI.create_order_feed(url=...)`, the `websockets` library) connects
to tests/feed/kotak_fakes.py's server on 127.0.0.1, sends its real handshake and
receives frames as Kotak sends them; the REST login and order book go through
an `httpx.MockTransport`. No network, and nothing inside the SDK is replaced.
"""

import json
import os
from decimal import Decimal

import pytest

from orderstate.feed.kotak import Backoff
from orderstate.models import FeedStatus, Lot, Order, SyncRun
from orderstate.states import Status
from tests.feed.frames import order_frame
from tests.feed.kotak_fakes import (
    FeedServer,
    KotakRest,
    Session,
    fixture_body,
    fixture_frames,
)
from tests.feed.running import kotak_stream, run_until

os.environ.setdefault("NEO_LOG_FILE_ENABLED", "false")
pytest.importorskip("neo_api_client")

pytestmark = pytest.mark.django_db

TCS = "260724000101001"
YESBANK = "260724000101004"


def book_with(*order_ids):
    """The recorded order_report body, keeping only these orders' rows."""
    body = fixture_body("order_report_ok")
    body["data"] = [row for row in body["data"] if row["nOrdNo"] in order_ids]
    return body


def test_recorded_frames_through_the_sdk_client_make_the_orders_exact():
    rest = KotakRest()  # the full sync after connecting finds an empty book ("No Data")
    frames = fixture_frames()[1:]  # the server sends its own acknowledgement first
    with FeedServer(Session(frames=frames)) as server:
        stream = kotak_stream(rest.broker(), server.url)

        run_until(stream, lambda: stream.consumer.total == len(frames) + 1)

    sid = fixture_body("totp_validate_ok")["data"]["sid"]
    assert server.handshakes == [f"{{type:cn,Authorization:trade-token-1,Sid:{sid},src:WEB}}"]
    tcs = Order.objects.get(broker_order_id=TCS)
    assert (tcs.status, tcs.filled_quantity, tcs.average_price) == (
        Status.EXECUTED,
        5,
        Decimal("3449.2000"),
    )
    # 2 @ 3449.00, 2 more making 3449.25, the last at the price that makes 3449.20.
    assert [(lot.quantity, lot.price) for lot in Lot.objects.order_by("id")] == [
        (2, Decimal("3449.0000")),
        (2, Decimal("3449.5000")),
        (1, Decimal("3449.0000")),
    ]
    assert Order.objects.get(broker_order_id=YESBANK).status == Status.REJECTED
    counts = stream.consumer.counts
    assert counts["control"] == 1
    assert counts["position"] == 1
    assert counts["awaiting_price"] == 2  # the "complete" frame at 0.00 and its duplicate
    assert stream.syncs["ok"] == 1
    assert rest.book_reads == 1


def test_status_row_says_connected_while_the_feed_is_up_and_stopped_after():
    rest = KotakRest()
    frame = order_frame(TCS, "open", 5, 0, "0.00", at=1_784_865_005_520_000_000)
    with FeedServer(Session(frames=[frame])) as server:
        stream = kotak_stream(rest.broker(), server.url)

        assert run_until(
            stream, lambda: stream.consumer.counts["external"] == 1 and stream.syncs["ok"] == 1
        )

    status = FeedStatus.objects.get(broker="kotak", account="default")
    assert not status.running and not status.connected  # a clean stop says so
    assert status.frames["external"] == 1
    assert status.frames["control"] == 1
    assert status.last_frame_at is not None


def test_orders_filled_while_disconnected_are_recovered_by_the_sync_after_reconnecting():
    """The server drops the first connection; meanwhile the order fills at the broker."""
    rest = KotakRest()
    opened = order_frame(TCS, "open", 5, 0, "0.00", at=1_784_865_005_520_000_000)
    script = (Session(frames=[opened], close_after=0.3), Session())
    with FeedServer(*script) as server:
        stream = kotak_stream(rest.broker(), server.url)

        def first_connection_done():
            if server.connections >= 1 and stream.consumer.counts["external"]:
                # While nobody listens, the order fills: only the book knows.
                rest.book = book_with(TCS)
            return stream.syncs["ok"] >= 2

        run_until(stream, first_connection_done)

    assert server.connections == 2
    assert stream.connections == 2
    tcs = Order.objects.get(broker_order_id=TCS)
    assert (tcs.status, tcs.filled_quantity, tcs.average_price) == (
        Status.EXECUTED,
        5,
        Decimal("3449.2000"),
    )
    assert FeedStatus.objects.get(broker="kotak").reconnects == 1
    assert SyncRun.objects.filter(outcome="ok").count() == 2


def test_frames_lost_by_the_sdk_when_the_server_closes_at_once_are_recovered():
    """A close right after a burst: the SDK stops reading (frames still buffered are lost)
    and never reports the drop; the watchdog sees the socket closed and reconnects, and the
    full sync after it brings the last state."""
    rest = KotakRest()
    burst = fixture_frames()[1:10]  # TCS from "put order req received" to "complete"
    script = (Session(frames=burst, close_after=0), Session())
    with FeedServer(*script) as server:
        stream = kotak_stream(rest.broker(), server.url)

        def reconnected():
            if server.connections == 1:
                rest.book = book_with(TCS)
            return server.connections == 2 and stream.syncs["ok"] == 2

        assert run_until(stream, reconnected)

    tcs = Order.objects.get(broker_order_id=TCS)
    assert (tcs.status, tcs.filled_quantity, tcs.average_price) == (
        Status.EXECUTED,
        5,
        Decimal("3449.2000"),
    )
    assert sum(lot.quantity * lot.price for lot in Lot.objects.all()) == Decimal("17246.0000")


@pytest.mark.parametrize("refuse_by", ["frame", "close"])
def test_a_refused_token_makes_the_next_connection_log_in_again(refuse_by):
    rest = KotakRest()
    opened = order_frame(TCS, "open", 5, 0, "0.00", at=1_784_865_005_520_000_000)
    # The server takes only the second login's token.
    session = Session(frames=[opened], only_token="trade-token-2", refuse_by=refuse_by)
    with FeedServer(session) as server:
        stream = kotak_stream(rest.broker(), server.url, ack_seconds=2)

        assert run_until(stream, lambda: stream.consumer.counts["external"] == 1)

    assert rest.logins == 2
    tokens = [handshake.split(",")[1] for handshake in server.handshakes]
    assert tokens == ["Authorization:trade-token-1", "Authorization:trade-token-2"]
    assert Order.objects.filter(broker_order_id=TCS).exists()


def test_a_feed_that_drops_every_few_moments_keeps_applying_and_backs_off():
    rest = KotakRest()
    frames = [
        order_frame(TCS, "open", 5, filled, "3449.00" if filled else "0.00", at=10**18 + filled)
        for filled in range(5)
    ]
    # Each connection gets one more frame, then the server closes it.
    script = [Session(frames=[frame], close_after=0.05) for frame in frames] + [Session()]
    with FeedServer(*script) as server:
        stream = kotak_stream(rest.broker(), server.url)

        assert run_until(stream, lambda: server.connections >= 6 and stream.syncs["ok"] >= 6)

    tcs = Order.objects.get(broker_order_id=TCS)
    assert (tcs.status, tcs.filled_quantity) == (Status.PARTIALLY_FILLED, 4)
    assert stream.consumer.counts["failed"] == 0
    assert stream.connections >= 6
    # Connections that never lasted count as failures: the waits between them grew.
    assert stream.source.failures >= 5


def test_bad_frames_through_the_socket_are_counted_and_the_stream_goes_on():
    rest = KotakRest()
    good = order_frame(TCS, "open", 5, 0, "0.00", at=1_784_865_005_520_000_000)
    bad = [
        "not json at all",
        "[1, 2, 3]",
        json.dumps({"type": "order", "data": {"nOrdNo": "1", "qty": "ten"}}),
        json.dumps({"type": "heartbeat", "x": 1}),
        b"\xff\xfe binary",
    ]
    with FeedServer(Session(frames=[*bad, good])) as server:
        stream = kotak_stream(rest.broker(), server.url)

        assert run_until(stream, lambda: stream.consumer.counts["external"] == 1)

    counts = stream.consumer.counts
    assert (counts["bad"], counts["other"]) == (4, 1)
    assert Order.objects.filter(broker_order_id=TCS).exists()


def test_a_failed_login_is_tried_again_after_a_backoff():
    rest = KotakRest(refuse_logins=2)
    opened = order_frame(TCS, "open", 5, 0, "0.00", at=1_784_865_005_520_000_000)
    with FeedServer(Session(frames=[opened])) as server:
        stream = kotak_stream(rest.broker(), server.url)

        assert run_until(stream, lambda: stream.consumer.counts["external"] == 1)

    assert server.connections == 1  # no connection before a login succeeded
    assert stream.source.failures == 2
    assert FeedStatus.objects.get(broker="kotak").last_error.startswith("login failed")


def test_reconnect_waits_grow_with_failures_up_to_the_ceiling_with_jitter():
    backoff = Backoff(1, 60, rng=lambda low, high: (low, high))

    assert [backoff.delay(failures) for failures in (0, 1, 2, 5, 6, 30)] == [
        (0.5, 1),
        (1, 2),
        (2, 4),
        (16, 32),
        (30, 60),
        (30, 60),
    ]
