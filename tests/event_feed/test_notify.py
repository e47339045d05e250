"""PostgreSQL tells the listener about events when they commit, and only then."""

import psycopg
import pytest
from django.db import connection, transaction

from orderstate.actions.base import Context, write_event
from orderstate.event_feed.listener import CHANNEL
from orderstate.models import EventKind

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listening(sell_order):
    """A connection listening on the channel, from after the fixtures' own events."""
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as listener_connection:
        listener_connection.execute(f"LISTEN {CHANNEL}")
        yield listener_connection


def test_a_committed_change_notifies_once_and_a_rolled_back_one_never(
    listening, sell_order, manager
):
    with pytest.raises(RuntimeError), transaction.atomic():
        write_event(Context.of("api"), sell_order, EventKind.NOTE, "", "", {})
        raise RuntimeError("rolled back")
    manager.update_sell_order_price("RELIANCE", "2510.00")
    manager.update_sell_order_price("RELIANCE", "2520.00")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, 'end')", [CHANNEL])

    # Notifications arrive in commit order: everything before "end" came from the above.
    received = []
    for notify in listening.notifies(timeout=30):
        if notify.payload == "end":
            break
        received.append(notify.payload)

    assert received == ["", ""]
