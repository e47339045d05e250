"""What the deliverer's loop does besides sending: give up old messages, prune
delivered ones, and notice a sync that went stale.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.locks import single_instance
from orderstate.models import Delivery, EventSource, OutboxMessage

STALE_CHECK_LOCK = "notify-sync-stale"
PRUNE_CHUNK = 5000


def give_up_old(now):
    """Mark dead the pending messages past the maximum age that will not be tried again:
    those already tried, and those whose target is failing or switched off.

    A message never tried because no deliverer ran gets its one try first.
    """
    too_old = now - timedelta(seconds=settings.ORDERSTATE_NOTIFY_MAX_AGE_SECONDS)
    hopeless = (
        OutboxMessage.objects.pending()
        .filter(created_at__lt=too_old)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(
            Q(attempts__gt=0)
            | Q(subscription__consecutive_failures__gt=0)
            | Q(subscription__active=False)
        )
    )
    never_tried = hopeless.filter(attempts=0).update(
        status=Delivery.DEAD, last_error="given up: its target kept failing or is switched off"
    )
    return never_tried + hopeless.update(status=Delivery.DEAD)


def prune(now):
    """Delete delivered and dead messages older than ORDERSTATE_NOTIFY_KEEP_DAYS, in chunks."""
    before = now - timedelta(days=settings.ORDERSTATE_NOTIFY_KEEP_DAYS)
    old = OutboxMessage.objects.filter(
        status__in=[Delivery.DELIVERED, Delivery.DEAD], created_at__lt=before
    )
    deleted = 0
    while ids := list(old.order_by().values_list("pk", flat=True)[:PRUNE_CHUNK]):
        deleted += OutboxMessage.objects.filter(pk__in=ids).delete()[0]
    return deleted


def notice_stale_sync(now):
    """A `sync_stale` event once per stale episode; one deliverer checks at a time."""
    with single_instance(STALE_CHECK_LOCK) as acquired:
        if not acquired:
            return None
        ctx = Context.of(EventSource.CLI, account=settings.ORDERSTATE_DEFAULT_ACCOUNT)
        return notifications.record_sync_stale(ctx, now)


def tidy(now):
    """All three; returns what each did."""
    return {
        "dead": give_up_old(now),
        "pruned": prune(now),
        "sync_stale": notice_stale_sync(now) is not None,
    }
