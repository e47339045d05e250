"""What every action shares: who acts, the locking lookups, and the one writer of changes.

An action takes a `Context` (source, actor, account) instead of a manager
object, so a helper can be called from any action without reaching into
another's private state. `change_order` is the only place that saves an order's
state, and it always writes the event beside the change.
"""

from dataclasses import dataclass, field, replace

from django.utils import timezone

from orderstate.actions import outbox
from orderstate.errors import InvalidTransition, OrderNotFound, StaleVersion, ValidationError
from orderstate.models import DEFAULT_ACCOUNT, EventSource, Order, OrderEvent, Source
from orderstate.states import TERMINAL, can_transition
from orderstate.validation import parse_order_id

ORDER_SOURCE_FOR_EVENT = {
    EventSource.SYNC: Source.BROKER,
    EventSource.IMPORT: Source.IMPORT,
    EventSource.ADMIN: Source.ADMIN,
}


@dataclass(frozen=True)
class Context:
    """Who acts: where the change comes from, which user made it, and in which account.

    `event_buffer`, when a list, collects the events instead of writing them:
    a sync batch passes one and writes the whole batch's events in one INSERT.
    """

    source: EventSource = EventSource.BOT
    actor: object = None
    account: str = DEFAULT_ACCOUNT
    event_buffer: list | None = field(default=None, compare=False)

    @classmethod
    def of(cls, source=EventSource.BOT, actor=None, account=DEFAULT_ACCOUNT):
        if source not in EventSource.values:
            raise ValidationError(
                f"source: {source!r} is not one of {', '.join(EventSource.values)}"
            )
        actor = actor if getattr(actor, "is_authenticated", False) else None
        return cls(EventSource(source), actor, account or DEFAULT_ACCOUNT)

    def in_account(self, account):
        return self if account in (None, self.account) else replace(self, account=account)

    def buffering(self, buffer):
        return replace(self, event_buffer=buffer)

    @property
    def order_source(self):
        """What an order this context creates records as its `source`."""
        return ORDER_SOURCE_FOR_EVENT.get(self.source, Source.BOT)


# Lookups ---------------------------------------------------------------------------


def one(queryset):
    """The single row a unique lookup finds, or None; cheaper than `.first()`'s ORDER BY."""
    rows = list(queryset.order_by()[:2])
    return rows[0] if rows else None


def find_order(ctx, order_id, *, lock=False):
    # Locked, so the caller decides on the row as it is now: two processes filling
    # or closing one order queue here instead of overwriting each other.
    queryset = Order.objects.select_for_update() if lock else Order.objects
    return one(queryset.filter(account=ctx.account, broker_order_id=parse_order_id(order_id)))


def get_order(ctx, order_id, *, lock=False):
    order = find_order(ctx, order_id, lock=lock)
    if order is None:
        raise OrderNotFound(f"no order with id {order_id!s}")
    return order


def active_sell(account, base, *, lock=False):
    """The bot's active sell order of a symbol, or None."""
    # At most one row (a partial unique constraint), so no ORDER BY is needed.
    queryset = Order.objects.select_for_update() if lock else Order.objects
    return one(queryset.active().tracked_sells().filter(account=account, base_symbol=base))


def lock_orders(pks):
    """The orders with these primary keys, locked in primary-key order; a dict by pk.

    One order of locking for every action that locks several orders, so two
    such transactions queue instead of deadlocking.
    """
    locked = Order.objects.select_for_update().filter(pk__in=list(pks)).order_by("pk")
    return {order.pk: order for order in locked}


# Checks ----------------------------------------------------------------------------


def check_transition(order, target, *, late_fill=False):
    if not can_transition(order.status, target, late_fill=late_fill):
        raise InvalidTransition(
            f"order {order.broker_order_id} cannot move from {order.status} to {target}"
        )


def check_version(order, expected_version):
    if expected_version is not None and int(expected_version) != order.version:
        raise StaleVersion(
            f"order {order.broker_order_id} is at version {order.version}, not {expected_version}"
        )


# Writers ---------------------------------------------------------------------------


def change_order(
    ctx, order, kind, *, to_status=None, data=None, late_fill=False, then=(), **fields
):
    """Write a change to a locked order and its event; the only place that saves one.

    `then` holds (kind, data) of further events about the changed order (its
    position moving), written in the same INSERT as the change's own.
    """
    now = timezone.now()
    from_status = order.status
    if to_status is not None and to_status != from_status:
        check_transition(order, to_status, late_fill=late_fill)
        order.status = to_status
        order.closed_at = now if to_status in TERMINAL else None
    for name, value in fields.items():
        setattr(order, name, value)
    order.version += 1
    order.updated_at = now
    order.save(update_fields={"status", "closed_at", "version", "updated_at", *fields})
    write_events(
        ctx,
        order,
        [
            (kind, from_status, order.status, data),
            *((then_kind, order.status, order.status, then_data) for then_kind, then_data in then),
        ],
    )


def note_broker_view(order, broker_status, broker_filled, now):
    """Record what the broker said of an order it did not change (no event, no version)."""
    order.broker_status = (broker_status or order.broker_status)[:64]
    order.broker_filled_quantity = broker_filled
    order.last_synced_at = now
    order.missing_count = 0
    order.save(
        update_fields=["broker_status", "broker_filled_quantity", "last_synced_at", "missing_count"]
    )


def write_event(ctx, order, kind, from_status, to_status, data):
    return write_events(ctx, order, [(kind, from_status, to_status, data)])[0]


def write_events(ctx, order, events):
    """Write (kind, from_status, to_status, data) events about `order` (or None) in one INSERT,
    with the outbox rows of the subscriptions that want them.

    An event of no order is about `data["symbol"]` in the context's account. With a
    buffer in the context they wait for the buffer's own INSERT instead.
    """
    rows = [
        OrderEvent(
            order=order,
            account=order.account if order else ctx.account,
            symbol=order.base_symbol if order else ((data or {}).get("symbol") or "")[:40],
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            source=ctx.source,
            actor=ctx.actor,
            data=data or {},
        )
        for kind, from_status, to_status, data in events
    ]
    if ctx.event_buffer is not None:
        ctx.event_buffer.extend(rows)
        return rows
    written = OrderEvent.objects.bulk_create(rows)
    outbox.enqueue(written, ctx.account)
    return written


def metadata_change(old, new):
    """What an event records of a metadata edit: the keys that changed."""
    changed = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    return {"metadata_changed": changed} if changed else {}
