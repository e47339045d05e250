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
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Q

from orderstate.models import Channel, Delivery, OutboxMessage, Subscription


def claim(
    worker,
    limit,
    *,
    cutoff,
    now,
    lease,
    per_target,
    held,
    failing=(),
    resting=(),
    after=None,
    rotation=0,
):
    """Lease up to `limit` messages due by `cutoff` to `worker` for `lease` (a timedelta);
    returns them with event, order and subscription loaded.

    `held` counts the messages this worker already holds by subscription id; a
    subscription holds at most `per_target`, or one if it is a Telegram chat or
    failing (`failing`: ids this worker saw fail); those in `resting` (failed in
    this pass) get none. `after` maps a subscription id to the (next_attempt_at,
    id) of the last message claimed for it in this pass: the next claim starts
    past it, instead of stepping again over the rows sent meanwhile (on
    PostgreSQL their index entries stay until vacuum). `rotation` shifts which
    subscription is served first, for fairness across calls.
    """
    with bookkeeping():
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
            claimed.extend(
                _due(subscription, take, cutoff, now, (after or {}).get(subscription.pk))
            )
        if claimed:
            until = now + lease
            OutboxMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(
                claimed_until=until, claimed_by=worker
            )
            for message in claimed:
                message.claimed_until, message.claimed_by = until, worker
    return claimed


@contextmanager
def bookkeeping():
    """A transaction for the deliverer's own rows (leases, outcomes, target health).

    On PostgreSQL its commit does not wait for the disk (`synchronous_commit`
    off for this transaction only): if the server crashed right after, the lost
    write is a lease or a "delivered" mark, and the message is sent again, which
    at-least-once delivery allows. Events and their outbox rows are written by
    the actions, durably, as ever.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


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


def _due(subscription, limit, cutoff, now, after):
    rows = (
        OutboxMessage.objects.select_related("event__order", "event__actor")
        .filter(subscription=subscription, status=Delivery.PENDING, next_attempt_at__lte=cutoff)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
    )
    if after is not None:
        at, pk = after
        rows = rows.filter(next_attempt_at__gte=at).exclude(next_attempt_at=at, pk__lte=pk)
    if connection.features.has_select_for_update_skip_locked:
        # Rows another deliverer is claiming right now are skipped, not waited for.
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    messages = list(rows[:limit])
    for message in messages:
        message.subscription = subscription
    return messages
