"""Leases on due outbox rows, so that no two deliverers send one message at once.

A claim runs in a short transaction: on PostgreSQL the due rows are read with
`SELECT ... FOR UPDATE SKIP LOCKED`, so deliverers on several hosts each take
rows nobody else is taking, and stamped with a lease (`claimed_until`,
`claimed_by`). The sends happen after the commit, outside any transaction; a
deliverer that dies mid-send lets its lease run out and the row is sent again
(at least once). SQLite runs one deliverer (the command's lock).

The rows claimed at once are shared across subscriptions, so one target's
backlog never starves another's. A target that is failing gets one message at a
time (a probe), and a Telegram chat one at a time (Telegram limits a chat's
rate, and a person reads them in order).
"""

import math

from django.db import connection, transaction
from django.db.models import Q

from orderstate.models import Channel, Delivery, OutboxMessage, Subscription


def claim(
    worker, limit, *, cutoff, now, lease, per_target, held, failing=(), resting=(), rotation=0
):
    """Lease up to `limit` messages due by `cutoff` to `worker` for `lease` (a timedelta);
    returns them with event, order and subscription loaded.

    `held` counts the messages this worker already holds by subscription id; a
    subscription holds at most `per_target`, or one if it is a Telegram chat or
    failing (`failing`: ids this worker saw fail); those in `resting` (failed in
    this pass) get none. `rotation` shifts which subscription is served first,
    for fairness across calls.
    """
    with transaction.atomic():
        subscriptions = (
            Subscription.objects.filter(active=True)
            .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=cutoff))
            .exclude(pk__in=list(resting))
            .order_by("pk")
        )
        rooms = [(s, _cap(s, per_target, failing) - held.get(s.pk, 0)) for s in subscriptions]
        rooms = [(s, room) for s, room in rooms if room > 0]
        if not rooms or limit <= 0:
            return []
        start = rotation % len(rooms)
        rooms = rooms[start:] + rooms[:start]
        share = math.ceil(limit / len(rooms))
        claimed = []
        for subscription, room in rooms:
            take = min(room, share, limit - len(claimed))
            if take <= 0:
                break
            claimed.extend(_due(subscription, take, cutoff, now))
        if claimed:
            until = now + lease
            OutboxMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
                claimed_until=until, claimed_by=worker
            )
            for message in claimed:
                message.claimed_until, message.claimed_by = until, worker
    return claimed


def release(worker, messages):
    """Give back leases on messages claimed but not sent: they are due again at once."""
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages], claimed_by=worker).update(
        claimed_until=None
    )


def one_at_a_time(subscription, failing=()):
    """A Telegram chat, or a target that is failing (here or in `failing`, ids seen failing)."""
    return (
        subscription.channel == Channel.TELEGRAM
        or bool(subscription.consecutive_failures)
        or subscription.pk in failing
    )


def _cap(subscription, per_target, failing):
    return 1 if one_at_a_time(subscription, failing) else per_target


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
