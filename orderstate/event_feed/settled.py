"""Which events a reader may be given yet, and in what order: the feed's cursor.

An event's id is handed out at INSERT; the event becomes visible at COMMIT. Two
writers racing can commit in the other order: id 41 still uncommitted while id
42 commits. A reader that took 42 and moved its cursor past it would never see
41. So the feed orders events by their *position*, (writing transaction, id),
and gives out only *settled* events: those written by a transaction older than
every transaction of this database still running. Whatever commits later was
written by a transaction at least that new, so it sorts after every event given
out, and a cursor never passes an event that can still appear. A transaction
that writes no event holds the feed back only while it runs; a transaction of
another database on the same server does not hold it back at all.

On SQLite one writer holds the database from its first write to its commit, so
ids are handed out in commit order: the writing transaction is 0 for every
event and every committed event is settled.
"""

from dataclasses import dataclass
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from orderstate.models import OrderEvent


class Position(NamedTuple):
    """Where an event stands in the feed: its writing transaction, then its id."""

    xid: int
    id: int

    @classmethod
    def of(cls, event):
        return cls(event.writer_xid, event.pk)


START = Position(-1, 0)
# What a reader is given of an event (with its order's id and its actor's name), and
# what the feed reads to settle it.
EVENT_FIELDS = (
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
)
FEED_FIELDS = (*EVENT_FIELDS, "writer_xid")

# The oldest transaction of this database still running (else one past the newest
# finished), as of this statement's snapshot: events written below it are settled.
# Transactions running in other databases are left out (pg_stat_activity names
# their database); one that ended since the snapshot is kept in, which only
# holds the feed back until the next look.
_BOUNDARY = """
WITH snapshot AS (SELECT pg_current_snapshot() AS s),
elsewhere AS (
    SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL
      AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
),
boundary AS (
    SELECT least(
        pg_snapshot_xmax(s)::text::bigint,
        (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) AS x
         WHERE x::text::bigint % 4294967296 NOT IN (SELECT xid FROM elsewhere))
    ) AS b
    FROM snapshot
)
"""
_HORIZON_POSTGRESQL = (
    _BOUNDARY
    + """
SELECT last.writer_xid, last.id, EXISTS (SELECT 1 FROM {table} WHERE writer_xid >= boundary.b)
FROM boundary LEFT JOIN LATERAL (
    SELECT writer_xid, id FROM {table} WHERE writer_xid < boundary.b
    ORDER BY writer_xid DESC, id DESC LIMIT 1
) AS last ON true
"""
)
_HORIZON_SQLITE = "SELECT writer_xid, id, 0 FROM {table} ORDER BY id DESC LIMIT 1"


@dataclass(frozen=True)
class Horizon:
    """The last settled event's position, and whether committed events wait behind it."""

    last: Position
    held: bool


@dataclass(frozen=True)
class Page:
    """Settled events after a position, and the position to read on from.

    `next` is the last event given when the page is full, else the last settled
    event whatever its account or kind, so a filtered reader moves past what it
    does not want instead of reading it again.
    """

    events: list
    next: Position
    held: bool = False


def horizon(using=DEFAULT_DB_ALIAS):
    connection = connections[using]
    sql = _HORIZON_POSTGRESQL if connection.vendor == "postgresql" else _HORIZON_SQLITE
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=connection.ops.quote_name(OrderEvent._meta.db_table)))
        row = cursor.fetchone()
    if row is None or row[1] is None:
        return Horizon(START, bool(row and row[2]))
    return Horizon(Position(row[0], row[1]), bool(row[2]))


def position_of(event_id, using=DEFAULT_DB_ALIAS):
    """The position of the event with this id, or None when there is none."""
    row = OrderEvent.objects.using(using).filter(pk=event_id).values_list("writer_xid", "id")
    row = row.first()
    return Position(*row) if row else None


def read(after, *, account=None, kinds=(), limit, using=DEFAULT_DB_ALIAS):
    """A page of settled events after position `after`, in feed order."""
    settled = horizon(using)
    if settled.last <= after:
        return Page([], after, settled.held)
    events = OrderEvent.objects.using(using).filter(
        _compare(">", after, using), _compare("<=", settled.last, using)
    )
    if account is not None:
        events = events.filter(account=account)
    if kinds:
        events = events.filter(kind__in=kinds)
    events = list(
        events.select_related("order", "actor")
        .only(*FEED_FIELDS, "order__broker_order_id", "actor__username")
        .order_by("writer_xid", "id")[:limit]
    )
    last = Position.of(events[-1]) if len(events) == limit else settled.last
    return Page(events, last, settled.held)


def _compare(operator, position, using):
    """`(writer_xid, id) <operator> position` as one row comparison, which an index on
    (writer_xid, id) answers as a range (an OR of two conditions it does not)."""
    quote = connections[using].ops.quote_name
    table = quote(OrderEvent._meta.db_table)
    sql = f"({table}.{quote('writer_xid')}, {table}.{quote('id')}) {operator} (%s, %s)"
    return RawSQL(sql, tuple(position), output_field=BooleanField())
