"""`manage.py stream_orders --broker replay --file FRAMES.jsonl`: recorded frames replayed end
to end, with a summary of what became of each."""

import json
import shutil
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orderstate.models import FeedStatus, Lot, Order, OrderEvent
from orderstate.states import Status
from tests.feed.kotak_fakes import FIXTURES

pytestmark = pytest.mark.django_db

FRAMES = FIXTURES / "order_feed_frames.jsonl"


class BookOnlyBroker:
    """A broker with an order book and no feed."""

    name = "book-only"

    def fetch_order_book(self):
        return []


def stream_orders(*args):
    out = StringIO()
    call_command("stream_orders", *args, stdout=out)
    return out.getvalue()


def test_replay_applies_the_recorded_frames_and_prints_a_summary():
    output = stream_orders("--broker", "replay", "--file", str(FRAMES))

    assert output.startswith("stream_orders replay (file ended")
    assert "14 frames: applied=4 unchanged=4 external=2" in output
    assert "awaiting_price=2" in output and "position=1 control=1" in output
    tcs = Order.objects.get(broker_order_id="260724000101001")
    assert (tcs.status, tcs.filled_quantity, tcs.average_price) == (
        Status.EXECUTED,
        5,
        Decimal("3449.2000"),
    )
    assert sum(lot.price * lot.quantity for lot in Lot.objects.all()) == Decimal("17246.0000")
    assert Order.objects.get(broker_order_id="260724000101004").status == Status.REJECTED
    assert not FeedStatus.objects.exists()  # a replay is not the live feed


def test_replay_prints_its_summary_as_json():
    report = json.loads(stream_orders("--file", str(FRAMES), "--json"))

    assert report["broker"] == "replay"
    assert report["frames"] == 14
    assert report["ended"] == "file ended"
    assert report["outcomes"]["external"] == 2
    assert report["outcomes"]["bad"] == 0
    assert sum(report["outcomes"].values()) == 14


def test_replaying_the_same_frames_again_changes_nothing():
    stream_orders("--file", str(FRAMES))
    events = OrderEvent.objects.count()

    report = json.loads(stream_orders("--file", str(FRAMES), "--json"))

    assert report["outcomes"]["unchanged"] == 12
    assert report["outcomes"]["applied"] == report["outcomes"]["external"] == 0
    assert OrderEvent.objects.count() == events


def test_a_file_with_garbage_lines_is_replayed_around_them(tmp_path):
    lines = FRAMES.read_text().splitlines()
    path = tmp_path / "frames.jsonl"
    path.write_text("\n".join([lines[0], "garbage", "", lines[1], '{"type":"order"}', "[]"]) + "\n")

    report = json.loads(stream_orders("--file", str(path), "--json"))

    assert report["frames"] == 5  # the blank line is no frame
    assert report["outcomes"]["bad"] == 3
    assert report["outcomes"]["external"] == 1


def test_replay_reads_frames_exactly_as_written_including_crlf(tmp_path):
    path = tmp_path / "frames.jsonl"
    shutil.copy(FRAMES, path)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    report = json.loads(stream_orders("--file", str(path), "--json"))

    assert report["outcomes"]["bad"] == 0
    assert report["frames"] == 14


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--broker", "replay"], "give --file FRAMES.jsonl"),
        (["--broker", "paper", "--file", "x.jsonl"], "--file goes with --broker replay"),
        (["--broker", "nonsense"], "unknown broker 'nonsense'"),
        (["--broker", "tests.feed.no_such_module.Broker"], "cannot be imported"),
        (["--broker", f"{__name__}.BookOnlyBroker"], "'.*BookOnlyBroker' has no order feed"),
        (["--file", "/nonexistent/frames.jsonl"], "cannot read /nonexistent/frames.jsonl"),
    ],
)
def test_wrong_arguments_are_named(args, message):
    with pytest.raises(CommandError, match=message):
        stream_orders(*args)
