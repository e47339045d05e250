"""GET /api/v1/events/: the audit log after a cursor, filtered, scoped, and long-polled.

Every test commits for real (the feed reads what other transactions committed),
so the module runs with transactional databases. The races between writers are
in tests/concurrency/test_event_feed.py (PostgreSQL).
"""

import logging
import threading
import time

import pytest
from django.db import connection, transaction

from orderstate.actions.base import Context, write_event
from orderstate.event_feed.listener import listener
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, OrderEvent
from orderstate.models.auth import ApiToken
from tests.clients import api_client_for
from tests.ops.test_metrics import parse_exposition

# The listener thread reads through its own alias (the same test database).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "event_listener"])

EVENTS = "/api/v1/events/"


@pytest.fixture(autouse=True)
def _stopped_listener():
    """Each test starts without a listener thread and leaves none behind (its database
    connection would outlive the test database)."""
    yield
    listener.stop()


def feed(client, **params):
    response = client.get(EVENTS, params)
    assert response.status_code == 200, response.json()
    return response.json()


def ids(page):
    return [event["id"] for event in page["results"]]


def all_ids():
    return list(OrderEvent.objects.order_by("id").values_list("id", flat=True))


def in_thread(call):
    """Run `call` in a thread (its own database connection); the result is in `.value`."""

    class Runner(threading.Thread):
        value = None

        def run(self):
            try:
                self.value = call()
            finally:
                connection.close()

    runner = Runner()
    runner.start()
    return runner


def until_waiting(count=1):
    """Block until `count` requests wait in the listener (no time limit: a test that
    never gets there hangs, and pytest's own timeout or the reader notices)."""
    while listener.waiters < count:
        time.sleep(0.005)


def test_events_come_oldest_first_with_the_cursor_to_read_on_from(trader_api, sell_order):
    page = feed(trader_api, after=0)

    assert ids(page) == all_ids()
    assert page["next_after"] == all_ids()[-1]
    registered = page["results"][-1]
    assert registered["kind"] == "registered"
    assert registered["order"] == "S-1"
    assert (registered["account"], registered["symbol"]) == ("default", "RELIANCE")
    assert (registered["from_status"], registered["to_status"]) == ("", "PENDING")
    assert (registered["source"], registered["actor"]) == ("api", None)
    assert registered["data"]["price"] == "2500.00"
    assert set(registered) == {
        "id",
        "at",
        "kind",
        "account",
        "order",
        "symbol",
        "from_status",
        "to_status",
        "source",
        "actor",
        "data",
    }
    assert feed(trader_api, after=page["next_after"]) == {
        "results": [],
        "next_after": page["next_after"],
    }
    assert feed(trader_api) == page  # no cursor: from the start


def test_a_small_limit_pages_through_every_event_once(trader_api, manager, closed_trade):
    seen, after = [], 0
    while True:
        page = feed(trader_api, after=after, limit=2)
        if not page["results"]:
            break
        assert len(page["results"]) <= 2
        seen += ids(page)
        after = page["next_after"]

    assert seen == all_ids()
    assert len(seen) > 4


def test_kind_picks_those_kinds_and_the_cursor_moves_past_the_rest(trader_api, manager):
    manager.register_sell_order("TCS-EQ", "S-9", "4000.00", 4)
    manager.record_fill("S-9", 1, "4000.00", fill_id="F-1")

    page = feed(trader_api, after=0, kind="Fill, executed")

    assert [event["kind"] for event in page["results"]] == ["fill"]
    assert page["next_after"] == all_ids()[-1]
    manager.update_sell_order_price("TCS", "4010.00")
    manager.mark_order_executed("TCS", "S-9", "4010.00")
    later = feed(trader_api, after=page["next_after"], kind="fill,executed")
    assert [event["kind"] for event in later["results"]] == ["executed"]


def test_a_token_for_one_account_sees_that_accounts_events_only(trader):
    OrderStateManager(account="side").register_sell_order("TCS-EQ", "S-1", "4000.00", 4)
    OrderStateManager().register_sell_order("INFY-EQ", "S-2", "1500.00", 4)
    side_api = api_client_for(trader, account="side")

    page = feed(side_api, after=0)

    assert [(event["account"], event["order"]) for event in page["results"]] == [("side", "S-1")]
    assert page["next_after"] == all_ids()[-1]
    assert side_api.get(EVENTS, {"account": "default"}).status_code == 403
    assert ids(feed(api_client_for(trader), account="side")) == ids(page)


def test_events_of_no_order_carry_their_account_and_symbol(trader_api):
    OrderStateManager(account="side").add_failed_order("TCS-EQ", "TCS.NS", qty=5, close="3500")

    (event,) = feed(trader_api, after=0)["results"]

    assert (event["kind"], event["order"]) == ("failed_order", None)
    assert (event["account"], event["symbol"]) == ("side", "TCS")


def test_latest_starts_after_the_newest_event(trader_api, sell_order, manager):
    start = feed(trader_api, after="latest")
    manager.update_sell_order_price("RELIANCE", "2550.00")

    assert start == {"results": [], "next_after": all_ids()[-2]}
    assert [event["kind"] for event in feed(trader_api, after=start["next_after"])["results"]] == [
        "price_updated"
    ]


def test_an_empty_log_starts_at_zero(trader_api):
    assert feed(trader_api, after="latest") == {"results": [], "next_after": 0}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"after": "abc"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": "٣"}, "after"),
        ({"after": "99999999"}, "after"),
        ({"after": "1" * 30}, "after"),
        ({"after": str(2**63)}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"kind": "fill,filled"}, "kind"),
        ({"wait": "31"}, "wait"),
        ({"wait": "-1"}, "wait"),
        ({"wait": "nan"}, "wait"),
        ({"wait": "inf"}, "wait"),
        ({"wait": "soon"}, "wait"),
        ({"account": "a\x00b"}, "account"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(trader_api, params, name):
    response = trader_api.get(EVENTS, params)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == [name]


def test_reading_needs_view_permission(anonymous_api, trader):
    assert anonymous_api.get(EVENTS).status_code == 401
    from tests.factories import UserFactory

    assert api_client_for(UserFactory(username="nobody")).get(EVENTS).status_code == 403


# Long polls ----------------------------------------------------------------------------


def test_a_waiting_request_answers_with_the_event_that_commits(trader_api, sell_order, manager):
    start = feed(trader_api, after="latest")
    waiting = in_thread(lambda: feed(trader_api, after=start["next_after"], wait=10))
    until_waiting()

    manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")
    waiting.join()

    assert [event["kind"] for event in waiting.value["results"]] == ["fill", "trade_updated"]
    assert waiting.value["next_after"] == all_ids()[-1]


def test_a_waiting_request_answers_empty_when_the_wait_is_over(trader_api, sell_order):
    start = feed(trader_api, after="latest")

    assert feed(trader_api, after=start["next_after"], wait="0.2") == start


def test_a_waiting_request_lets_pass_what_it_does_not_want(trader_api, sell_order, manager):
    start = feed(trader_api, after="latest")
    waiting = in_thread(
        lambda: feed(trader_api, after=start["next_after"], kind="executed", wait=10)
    )
    until_waiting()

    manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")
    manager.mark_order_executed("RELIANCE", "S-1", "2500.00")
    waiting.join()

    assert [event["kind"] for event in waiting.value["results"]] == ["executed"]


def test_a_change_that_rolled_back_wakes_no_one(trader_api, sell_order, manager):
    start = feed(trader_api, after="latest")
    waiting = in_thread(lambda: feed(trader_api, after=start["next_after"], wait=10))
    until_waiting()

    with pytest.raises(RuntimeError), transaction.atomic():
        write_event(Context.of("api"), sell_order, EventKind.NOTE, "", "", {"rolled": "back"})
        raise RuntimeError("the change fails after writing its event")
    manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")
    waiting.join()

    assert "note" not in [event["kind"] for event in waiting.value["results"]]
    assert waiting.value["results"][0]["kind"] == "fill"


def test_several_waiting_requests_all_get_the_event(trader, trader_api, sell_order, manager):
    start = feed(trader_api, after="latest")
    bots = [
        in_thread(lambda: feed(api_client_for(trader), after=start["next_after"], wait=10))
        for _ in range(4)
    ]
    until_waiting(4)

    manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")
    for bot in bots:
        bot.join()

    assert {tuple(ids(bot.value)) for bot in bots} == {tuple(all_ids()[-2:])}


def test_a_process_lets_only_so_many_requests_wait(trader_api, sell_order, settings, caplog):
    settings.ORDERSTATE_EVENT_WAITERS = 1
    start = feed(trader_api, after="latest")
    waiting = in_thread(lambda: feed(trader_api, after=start["next_after"], wait="1.5"))
    until_waiting()

    with caplog.at_level(logging.WARNING):
        refused = trader_api.get(EVENTS, {"after": start["next_after"], "wait": 5})
    without_waiting = trader_api.get(EVENTS, {"after": start["next_after"]})
    waiting.join()

    assert refused.status_code == 503
    assert refused.json()["code"] == "too_many_waiters"
    assert refused["Retry-After"] == "1"
    # The limit at work is a warning, not django.request's error for a 5xx.
    assert [(r.name, r.levelname) for r in caplog.records if r.levelno >= logging.WARNING] == [
        ("orderstate.api.event_views", "WARNING")
    ]
    assert without_waiting.status_code == 200
    assert waiting.value["results"] == []


def test_a_full_process_still_answers_a_request_whose_events_are_in(
    trader_api, sell_order, manager, settings
):
    settings.ORDERSTATE_EVENT_WAITERS = 1
    start = feed(trader_api, after="latest")
    waiting = in_thread(
        lambda: feed(trader_api, after=start["next_after"], kind="rejected", wait="1.5")
    )
    until_waiting()
    manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")
    while listener.position_of(all_ids()[-1]) is None:  # the listener has read the fill
        time.sleep(0.005)

    behind = trader_api.get(EVENTS, {"after": start["next_after"], "wait": 5})
    waiting.join()

    assert behind.status_code == 200
    assert ids(behind.json()) == all_ids()[-2:]


def test_what_the_listener_has_not_kept_is_read_from_the_database(
    trader_api, sell_order, manager, monkeypatch
):
    start = feed(trader_api, after="latest")
    listener_wait = listener.wait

    def lacking_at_first(*args, **kwargs):
        if not OrderEvent.objects.filter(kind="fill").exists():
            manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")
            return None  # as when the events came before the listener started
        return listener_wait(*args, **kwargs)

    monkeypatch.setattr(listener, "wait", lacking_at_first)

    page = feed(trader_api, after=start["next_after"], wait=10)

    assert ids(page) == all_ids()[-2:]


def test_metrics_count_the_requests_waiting_in_the_process(
    trader, trader_api, sell_order, settings, client
):
    settings.ORDERSTATE_EVENT_WAITERS = 7
    start = feed(trader_api, after="latest")
    waiting = in_thread(lambda: feed(trader_api, after=start["next_after"], wait="1.5"))
    until_waiting()

    _, key = ApiToken.issue(trader)
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}").content.decode()
    waiting.join()

    samples = parse_exposition(text)
    assert samples[("orderstate_event_waiters", "")] == 1
    assert samples[("orderstate_event_waiters_limit", "")] == 7
