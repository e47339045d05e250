"""The listener thread: what it keeps, when it sends a waiter to the database, when it ends."""

import time

import pytest

from orderstate.event_feed import listener as listener_module
from orderstate.event_feed import settled
from orderstate.event_feed.listener import listener

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "event_listener"])


@pytest.fixture(autouse=True)
def _stopped_listener():
    yield
    listener.stop()


def soon(seconds=10):
    return time.monotonic() + seconds


def test_a_waiter_gets_the_events_that_settle(sell_order, manager):
    start = settled.horizon().last
    listener.wait(start, limit=10, deadline=time.monotonic())  # starts the thread

    manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")
    page = listener.wait(start, limit=10, deadline=soon())

    assert [event.kind for event in page.events] == ["fill", "trade_updated"]
    assert page.next == settled.Position.of(page.events[-1])


def test_a_waiter_behind_the_events_kept_is_sent_to_the_database(sell_order, manager, monkeypatch):
    monkeypatch.setattr(listener_module, "KEPT", 1)
    start = settled.horizon().last
    listener.wait(start, limit=10, deadline=time.monotonic())

    manager.record_fill("S-1", 4, "2500.00", fill_id="F-1")  # two events; one is kept

    assert listener.wait(start, limit=10, deadline=soon()) is None
    assert settled.read(start, limit=10).events[0].kind == "fill"


def test_the_thread_ends_when_no_one_has_waited_for_a_while(sell_order, monkeypatch):
    monkeypatch.setattr(listener_module, "IDLE_SECONDS", 0)
    listener.wait(settled.horizon().last, limit=10, deadline=time.monotonic())
    assert listener.running

    while listener.running:
        time.sleep(0.01)

    page = listener.wait(settled.horizon().last, limit=10, deadline=time.monotonic() + 0.05)
    assert page.events == []
