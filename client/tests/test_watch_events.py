"""watch_events against httpx.MockTransport: long polls, the cursor, resuming after failures.

End to end against a live server: the server's tests/client/test_end_to_end.py.
"""

from datetime import datetime

import fake_api
import httpx
import pytest

from orderstate_client import (
    NotAuthenticated,
    OrderStateClient,
    RemoteEvent,
    errors,
)


def event(event_id, kind="fill", **fields):
    return {
        "id": event_id,
        "at": "2026-11-25T10:01:02.345000+05:30",
        "kind": kind,
        "account": "default",
        "order": "S-1",
        "symbol": "RELIANCE",
        "from_status": "OPEN",
        "to_status": "PARTIALLY_FILLED",
        "source": "sync",
        "actor": None,
        "data": {"fill_id": f"F-{event_id}"},
        **fields,
    }


def page(events, next_after):
    return httpx.Response(200, json={"results": events, "next_after": next_after})


class Feed(fake_api.FakeApi):
    """A fake event feed: answers requests from a list, recording each request."""

    def param(self, name, index=-1):
        return self.requests[index].url.params.get(name)


def client_for(feed, **options):
    sleeps = []
    client = OrderStateClient(
        "http://orderstate.test",
        "abcd1234.secret",
        transport=httpx.MockTransport(feed),
        sleep=sleeps.append,
        **options,
    )
    client.sleeps = sleeps
    return client


def take(iterator, count):
    return [next(iterator) for _ in range(count)]


def test_events_come_page_after_page_from_each_next_after():
    feed = Feed(page([event(7), event(9)], 9), page([], 12), page([event(8)], 13))
    watch = client_for(feed).watch_events(after=5, kinds=["Fill", "executed"], wait=20)

    yielded = take(watch, 3)

    assert [item.id for item in yielded] == [7, 9, 8]
    assert [feed.param("after", i) for i in range(3)] == ["5", "9", "12"]
    assert {feed.param("kind", i) for i in range(3)} == {"fill,executed"}
    assert {feed.param("wait", i) for i in range(3)} == {"20"}
    assert feed.requests[0].url.path == "/api/v1/events/"
    # The read timeout covers the server's wait.
    assert feed.requests[0].extensions["timeout"]["read"] == 10.0 + 20


def test_an_event_reads_as_a_remote_event():
    feed = Feed(page([event(7, order=None, actor="asha", data={"trade_id": 3})], 7))

    (item,) = take(client_for(feed).watch_events(after=0), 1)

    assert isinstance(item, RemoteEvent)
    assert (item.id, item.kind, item.order, item.actor) == (7, "fill", None, "asha")
    assert (item.account, item.symbol) == ("default", "RELIANCE")
    assert (item.from_status, item.to_status) == ("OPEN", "PARTIALLY_FILLED")
    assert item.data == {"trade_id": 3}
    assert item.at == datetime.fromisoformat("2026-11-25T10:01:02.345000+05:30")
    assert item.raw["id"] == 7


def test_without_after_it_starts_at_the_newest_event():
    feed = Feed(page([], 41), page([event(42)], 42))

    (item,) = take(client_for(feed).watch_events(), 1)

    assert item.id == 42
    assert [feed.param("after", i) for i in range(2)] == ["latest", "41"]


def test_latest_event_id_is_the_feeds_newest_id():
    feed = Feed(page([], 41))

    assert client_for(feed).latest_event_id() == 41
    assert feed.param("after") == "latest"
    assert feed.param("wait") is None


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("the answer was lost on the way"),
        httpx.RemoteProtocolError("server went away"),
        httpx.Response(503, json={"code": "too_many_waiters", "detail": "retry"}),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(429, json={"code": "throttled", "detail": "slow down"}),
    ],
)
def test_a_failure_is_waited_out_and_the_same_page_asked_again(failure):
    # retries=0: the client's own retries are off, so watch_events's are what is tested.
    feed = Feed(page([event(7)], 7), failure, failure, page([event(8), event(9)], 9))
    client = client_for(feed, retries=0, backoff=1.0, max_backoff=3.0)

    yielded = take(client.watch_events(after=0), 3)

    assert [item.id for item in yielded] == [7, 8, 9]
    assert [feed.param("after", i) for i in range(4)] == ["0", "7", "7", "7"]
    assert len(client.sleeps) == 2
    assert all(0 <= pause <= 3.0 for pause in client.sleeps)


def test_backoff_grows_while_the_server_stays_away():
    down = [httpx.ConnectError("refused")] * 8
    feed = Feed(*down, page([event(7)], 7))
    client = client_for(feed, retries=0, backoff=1.0, max_backoff=30.0)
    delays = []
    client._delay = lambda attempt: delays.append(attempt) or 0

    take(client.watch_events(after=0), 1)

    assert delays == list(range(8))


def test_after_a_failure_the_count_of_failures_starts_again():
    feed = Feed(
        httpx.ConnectError("refused"),
        page([event(7)], 7),
        httpx.ConnectError("refused"),
        page([event(8)], 8),
    )
    client = client_for(feed, retries=0)
    delays = []
    client._delay = lambda attempt: delays.append(attempt) or 0

    take(client.watch_events(after=0), 2)

    assert delays == [0, 0]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(401, json={"code": "not_authenticated", "detail": "no"}), NotAuthenticated),
        (
            httpx.Response(
                400,
                json={
                    "code": "validation_error",
                    "detail": "after: no event with id 99",
                    "fields": {"after": ["no event with id 99"]},
                },
            ),
            errors.ValidationError,
        ),
    ],
)
def test_an_error_the_bot_must_fix_ends_the_watch(answer, expected):
    watch = client_for(Feed(answer)).watch_events(after=99)

    with pytest.raises(expected):
        next(watch)


@pytest.mark.parametrize("after", [-1, "soon", 1.5, True])
def test_a_bad_cursor_is_refused_before_any_request(after):
    feed = Feed()

    with pytest.raises(errors.ValidationError):
        client_for(feed).watch_events(after=after)
    assert feed.requests == []


def test_the_clients_account_goes_with_every_poll():
    feed = Feed(page([event(7, account="side")], 7))

    take(client_for(feed, account="side").watch_events(after=0, kinds="executed,fill"), 1)

    assert feed.param("account") == "side"
    assert feed.param("kind") == "executed,fill"
