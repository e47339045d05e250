"""Writers racing the event feed's reader (PostgreSQL): no event is skipped or given twice.

Ids are handed out at INSERT, events become visible at COMMIT. Here one
transaction holds an uncommitted event while a later one commits, with real
threads and connections, and the reader must never move its cursor past the
held event.
"""

import threading

import psycopg
import pytest
from django.db import connection, transaction

from orderstate.actions.base import Context, write_event
from orderstate.event_feed.listener import listener
from orderstate.models import EventKind, Order
from tests.clients import api_client_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "event_listener"]),
]

EVENTS = "/api/v1/events/"


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("transaction ids and LISTEN/NOTIFY are PostgreSQL's")
    yield
    listener.stop()


@pytest.fixture
def bot(trader):
    return api_client_for(trader)


@pytest.fixture
def start(bot, sell_order):
    """The feed's cursor before the race: after every event so far."""
    return bot.get(EVENTS, {"after": "latest"}).json()["next_after"]


def feed(bot, after, **params):
    response = bot.get(EVENTS, {"after": after, **params})
    assert response.status_code == 200, response.json()
    page = response.json()
    return [event["id"] for event in page["results"]], page["next_after"]


class Writer(threading.Thread):
    """Writes one event in a transaction of its own connection, a step at a time: it
    begins (taking a transaction id at once when `xid_first`), meets the others at
    `begun`, writes when `may_write` is set, then commits when `may_commit` is."""

    def __init__(self, begun, *, xid_first=False):
        super().__init__()
        self.begun = begun
        self.xid_first = xid_first
        self.may_write = threading.Event()
        self.wrote = threading.Event()
        self.may_commit = threading.Event()
        self.event_id = None
        self.error = None

    def run(self):
        try:
            with transaction.atomic():
                if self.xid_first:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_current_xact_id()")
                self.begun.wait()
                self.may_write.wait()
                order = Order.objects.get(broker_order_id="S-1")
                event = write_event(Context.of("api"), order, EventKind.NOTE, "", "", {})
                self.event_id = event.pk
                self.wrote.set()
                self.may_commit.wait()
        except Exception as exc:  # shown by the test's assertion instead of a hang
            self.error = exc
            self.wrote.set()
        finally:
            connection.close()


def writers(**first_options):
    """Two writers, started; both have begun their transactions when this returns."""
    begun = threading.Barrier(3)
    pair = Writer(begun, **first_options), Writer(begun)
    for writer in pair:
        writer.start()
    begun.wait()
    return pair


def test_an_uncommitted_older_event_holds_back_the_newer_one_until_it_commits(bot, start):
    older, newer = writers()
    older.may_write.set()
    older.wrote.wait()
    newer.may_write.set()
    newer.may_commit.set()
    newer.join()
    assert (older.error, newer.error) == (None, None)
    assert older.event_id < newer.event_id

    held, after_held = feed(bot, start)
    older.may_commit.set()
    older.join()
    settled, _ = feed(bot, after_held)

    assert held == []
    assert after_held == start
    assert settled == [older.event_id, newer.event_id]


def test_a_lower_id_committed_after_a_higher_one_is_still_read(bot, start):
    # The newer id belongs to the older transaction: it commits first and is read
    # first; the lower id comes after it, not behind the cursor.
    early, late = writers(xid_first=True)
    late.may_write.set()
    late.wrote.wait()
    early.may_write.set()
    early.may_commit.set()
    early.join()
    assert (early.error, late.error) == (None, None)
    assert late.event_id < early.event_id

    first, cursor = feed(bot, start)
    late.may_commit.set()
    late.join()
    second, _ = feed(bot, cursor)

    assert first == [early.event_id]
    assert cursor == early.event_id
    assert second == [late.event_id]


def test_a_waiting_bot_gets_the_held_event_with_the_one_behind_it(bot, start):
    answer = {}

    def wait_for_events():
        try:
            answer["ids"], _ = feed(bot, start, wait=10)
        finally:
            connection.close()

    waiting = threading.Thread(target=wait_for_events)
    waiting.start()
    while listener.waiters < 1:
        threading.Event().wait(0.005)
    older, newer = writers()
    older.may_write.set()
    older.wrote.wait()
    newer.may_write.set()
    newer.may_commit.set()
    newer.join()
    older.may_commit.set()
    older.join()
    waiting.join()

    assert answer["ids"] == [older.event_id, newer.event_id]


def _connect(dbname):
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=dbname,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=False,
    )


def test_only_transactions_of_this_database_hold_the_feed_back(bot, start, manager):
    with _connect("postgres") as elsewhere, _connect(connection.settings_dict["NAME"]) as here:
        elsewhere.execute("SELECT pg_current_xact_id()")  # open, with an id, in another database
        manager.update_sell_order_price("RELIANCE", "2510.00")
        not_held, cursor = feed(bot, start)

        here.execute("SELECT pg_current_xact_id()")  # open, with an id, in this one
        manager.update_sell_order_price("RELIANCE", "2520.00")
        held, held_cursor = feed(bot, cursor)
        here.rollback()
        after_it_ended, _ = feed(bot, held_cursor)

    assert len(not_held) == 1
    assert (held, held_cursor) == ([], cursor)
    assert len(after_it_ended) == 1
