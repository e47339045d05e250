"""Events that are not one order's change, written for whoever wants to hear of them:
a sync that failed or went stale, a position that does not match the broker's, the
order feed down, and a test notification.

Each goes through `base.write_event`, so the subscriptions that want its kind get
their outbox row in the same transaction.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orderstate.actions.base import write_event
from orderstate.errors import ValidationError
from orderstate.models import (
    EventKind,
    OrderEvent,
    OutboxMessage,
    Subscription,
    SyncOutcome,
    SyncRun,
)

ERROR_LENGTH = 500


def record_sync_failed(ctx, run):
    """A `sync_failed` event for a failed run, unless the run before it failed too.

    One event per failure episode: a broker down for an hour fails every run,
    and one message says so; if no run succeeds for ORDERSTATE_SYNC_STALE_SECONDS,
    `record_sync_stale` says that once too. Returns the event or None.
    """
    with transaction.atomic(durable=True):
        previous = (
            SyncRun.objects.filter(pk__lt=run.pk, finished_at__isnull=False, dry_run=False)
            .exclude(outcome=SyncOutcome.SKIPPED)
            .order_by("-pk")
            .values_list("outcome", flat=True)
            .first()
        )
        if previous == SyncOutcome.FAILED:
            return None
        data = {"sync_run": run.pk, "broker": run.broker, "error": run.error[:ERROR_LENGTH]}
        return write_event(ctx, None, EventKind.SYNC_FAILED, "", "", data)


def record_sync_stale(ctx, now=None):
    """A `sync_stale` event when the last good sync is older than ORDERSTATE_SYNC_STALE_SECONDS,
    once per stale episode (until a sync finishes ok again); returns the event or None.

    Before the first good sync there is nothing to be stale against: a sync that
    never worked says so with `sync_failed`. Two callers at once may both write;
    `notify.housekeeping` calls this under a once-only lock.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        last_ok = (
            SyncRun.objects.filter(outcome=SyncOutcome.OK, finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if last_ok is None:
            return None
        age = (now - last_ok).total_seconds()
        if age <= settings.ORDERSTATE_SYNC_STALE_SECONDS:
            return None
        if OrderEvent.objects.filter(kind=EventKind.SYNC_STALE, at__gt=last_ok).exists():
            return None
        data = {"last_ok_at": last_ok.isoformat(), "age_seconds": round(age)}
        return write_event(ctx, None, EventKind.SYNC_STALE, "", "", data)


def record_position_mismatch(ctx, symbol, ours, broker, **details):
    """A `position_mismatch` event: orderstate holds `ours` of `symbol`, the broker `broker`.

    For the positions check after a sync (live-broker). Joins the caller's
    transaction when there is one, so the event commits with what the check
    records; `details` (JSON-safe) go into the event's data. Returns the event.
    """
    data = {"symbol": symbol, "ours": ours, "broker": broker, **details}
    with transaction.atomic():
        return write_event(ctx, None, EventKind.POSITION_MISMATCH, "", "", data)


def record_feed_down(ctx, reason, **details):
    """A `feed_down` event: the broker's order feed is disconnected (`reason`, short text).

    For `stream_orders` (live-feed), once per outage: when the feed drops, not on
    every failed reconnect. Joins the caller's transaction when there is one.
    Returns the event.
    """
    data = {"reason": str(reason)[:ERROR_LENGTH], **details}
    with transaction.atomic():
        return write_event(ctx, None, EventKind.FEED_DOWN, "", "", data)


def send_test(ctx, subscription_id):
    """Queue a test message for one subscription, whatever kinds it wants; returns the row.

    The test travels the whole way (event, outbox, deliverer, receiver), so a
    success on the Notifications page means real notifications arrive too.
    """
    with transaction.atomic(durable=True):
        subscription = Subscription.objects.filter(pk=subscription_id).first()
        if subscription is None:
            raise ValidationError(f"no subscription with id {subscription_id}")
        if not subscription.active:
            raise ValidationError(f"subscription {subscription.name!r} is not active")
        data = {"subscription": subscription.pk, "name": subscription.name}
        event = write_event(ctx, None, EventKind.NOTIFICATION_TEST, "", "", data)
        return OutboxMessage.objects.create(
            subscription=subscription,
            event=event,
            account=subscription.account or ctx.account,
            created_at=event.at,
            next_attempt_at=event.at,
        )
