"""The feed's health as other processes see it: the dashboard's header ("live" or "polling"),
`/metrics`, and the "feed down" alert of `/healthz`, all read from the FeedStatus row the
stream writes."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.feed.status import StatusWriter
from orderstate.models import FeedStatus
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


def writer(now=None, broker="kotak"):
    clock = (lambda: now) if now else timezone.now
    return StatusWriter(broker, "default", interval=0, clock=clock)


def header(client):
    page = client.get("/").content.decode()
    start = page.index('<span class="feed')
    return page[start : page.index("</span>", start)]


def test_header_says_polling_when_no_feed_ever_ran(viewer_client):
    assert "polling" in header(viewer_client)


def test_header_says_live_with_the_last_frame_age_while_the_feed_is_connected(viewer_client):
    stream = writer()
    stream.started()
    stream.connected(Counter(applied=3), timezone.now() - timedelta(seconds=42))

    text = header(viewer_client)

    assert 'class="feed live"' in text
    assert "live · last frame 42s ago" in text


def test_header_says_polling_once_the_stream_stopped_or_went_silent(viewer_client):
    stream = writer(now=timezone.now() - timedelta(minutes=5))
    stream.started()
    stream.connected(Counter(), None)  # connected, then nothing for five minutes

    assert "polling" in header(viewer_client)


def sample(body, series):
    """The value of one series in a Prometheus text body (prometheus-client writes 1.0)."""
    line = next(line for line in body.splitlines() if line.startswith(series + " "))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_expose_frames_reconnects_and_the_last_frame_age(client, staff_user):
    stream = writer()
    stream.started()
    stream.connected(Counter(), None)
    stream.disconnected("the connection closed", Counter(applied=5), None)
    stream.connected(Counter(applied=7, bad=1), timezone.now() - timedelta(seconds=3))
    client.force_login(staff_user)

    body = client.get("/metrics").content.decode()

    labels = 'account="default",broker="kotak"'
    assert sample(body, f"orderstate_feed_connected{{{labels}}}") == 1
    assert sample(body, f"orderstate_feed_reconnects_total{{{labels}}}") == 1
    assert sample(body, f'orderstate_feed_frames_total{{{labels},outcome="applied"}}') == 7
    assert sample(body, f'orderstate_feed_frames_total{{{labels},outcome="bad"}}') == 1
    age = next(line for line in body.splitlines() if line.startswith("orderstate_feed_last_frame"))
    assert 3 <= float(age.rsplit(" ", 1)[1]) < 60
    assert "# TYPE orderstate_feed_frames_total counter" in body


def test_counts_go_on_from_the_totals_of_the_stream_before(client, staff_user):
    first = writer()
    first.started()
    first.connected(Counter(), None)
    first.stopped(Counter(applied=4), None)
    second = writer()
    second.started()
    second.connected(Counter(), None)
    second.tick(Counter(applied=2), None)

    assert FeedStatus.objects.get().frames == {"applied": 6}


def test_a_feed_that_went_silent_degrades_healthz(client):
    SyncRunFactory(outcome="ok", finished_at=timezone.now())
    stream = writer(now=timezone.now() - timedelta(minutes=2))
    stream.started()
    stream.connected(Counter(), None)

    body = client.get("/healthz").json()

    assert body["status"] == "degraded"
    assert body["feed_down"]["count"] == 1
    assert body["feed_down"]["feeds"][0].startswith("kotak (default) for 12")


def test_a_feed_disconnected_for_long_degrades_healthz(client):
    long_ago = timezone.now() - timedelta(minutes=3)
    stream = writer(now=long_ago)
    stream.started()
    stream.disconnected("the connection closed", Counter(), None)
    stream.clock = timezone.now
    stream.tick(Counter(), None)  # the stream is alive, but has not reconnected since

    body = client.get("/healthz").json()

    assert body["feed_down"]["count"] == 1
    assert body["feed_down"]["feeds"][0].endswith(": the connection closed")


def test_a_feed_stopped_on_purpose_is_no_alert(client):
    stream = writer(now=timezone.now() - timedelta(hours=1))
    stream.started()
    stream.connected(Counter(), None)
    stream.stopped(Counter(), None)

    assert client.get("/healthz").json()["feed_down"] == {"count": 0, "feeds": []}
