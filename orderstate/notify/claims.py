"""Leases on due outbox rows, so that no two deliverers send one message at once.

A claim runs in a short transaction: on PostgreSQL the due rows are read with
`SELECT ... FOR UPDATE SKIP LOCKED`, so deliverers on several hosts each take
rows nobody else is taking, and stamped with a lease (`claimed_until`,
`claimed_by`). The sends happen after the commit, outside any transaction; a
deliverer that dies mid-send lets its lease run out and the row is sent again
(at least once). SQLite runs one deliverer (the command's lock).

Free slots are shared across subscriptions, so one target's backlog never
starves another's. A subscription that is failing gets one message at a time (a
probe) and a Telegram chat one at a time (Telegram limits a chat's rate, and a
person reads them in order).
"""

import math
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from orderstate.models import Channel, Delivery, OutboxMessage, Subscription


def lease_length():
    """Long enough for a send bounded by the timeout, with room to record its outcome."""
    return timedelta(seconds=3 * settings.ORDERSTATE_NOTIFY_TIMEOUT_SECONDS + 30)


def room_for(subscription, concurrency, in_flight):
    cap = (
        1
        if subscription.channel == Channel.TELEGRAM or subscription.consecutive_failures
        else (concurrency)
    )
    return cap - in_flight.get(subscription.pk, 0)


def claim(worker, free, *, cutoff, now, concurrency, in_flight, rotation=0):
    """Lease up to `free` messages due by `cutoff`; returns them with event, order and
    subscription loaded.

    `in_flight` counts this deliverer's unfinished sends by subscription id;
    `rotation` shifts which subscription is served first, for fairness across calls.
    """
    with transaction.atomic():
        subscriptions = list(
            Subscription.objects.filter(active=True)
            .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=cutoff))
            .order_by("pk")
        )
        rooms = [(s, room_for(s, concurrency, in_flight)) for s in subscriptions]
        rooms = [(s, room) for s, room in rooms if room > 0]
        if not rooms or free <= 0:
            return []
        start = rotation % len(rooms)
        rooms = rooms[start:] + rooms[:start]
        share = math.ceil(free / len(rooms))
        claimed = []
        for subscription, room in rooms:
            take = min(room, share, free - len(claimed))
            if take <= 0:
                break
            claimed.extend(_due(subscription, take, cutoff, now))
        if claimed:
            until = now + lease_length()
            OutboxMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
                claimed_until=until, claimed_by=worker
            )
            for message in claimed:
                message.claimed_until, message.claimed_by = until, worker
    return claimed


def _due(subscription, limit, cutoff, now):
    rows = (
        OutboxMessage.objects.select_related("event__order", "event__actor")
        .filter(subscription=subscription, status=Delivery.PENDING, next_attempt_at__lte=cutoff)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
    )
    if connection.features.has_select_for_update_skip_locked:
        # Rows another deliverer is claiming right now are skipped, not waited for.
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    messages = list(rows[:limit])
    for message in messages:
        message.subscription = subscription
    return messages
