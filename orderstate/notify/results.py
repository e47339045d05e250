"""Outcomes of sends, written back: delivered, tried again later, or given up (dead).

Each write is conditional on this deliverer's lease (`claimed_by`): if the lease
ran out and another deliverer took the message, the other's outcome counts.
The subscription keeps its health: when it last delivered, how many times in a
row it failed, and until when it rests (backoff, or Telegram's `retry_after`).
"""

import logging
import random
from collections import Counter, defaultdict
from datetime import timedelta

from django.db.models import F

from orderstate.models import Delivery, OutboxMessage, Subscription
from orderstate.notify.claims import bookkeeping
from orderstate.notify.retry import give_up_at, retry_delay

log = logging.getLogger(__name__)

HEALTH_FIELDS = [
    "consecutive_failures",
    "paused_until",
    "last_delivered_at",
    "last_failed_at",
    "last_error",
]


def record(worker, outcomes, now, rng=random):
    """Write `outcomes`, a list of (message, senders.Outcome), in one transaction; counts."""
    counts = Counter()
    with bookkeeping():
        delivered = [message.pk for message, outcome in outcomes if outcome.delivered]
        if delivered:
            counts["delivered"] = OutboxMessage.objects.filter(
                pk__in=delivered, claimed_by=worker
            ).update(
                status=Delivery.DELIVERED,
                delivered_at=now,
                attempts=F("attempts") + 1,
                claimed_until=None,
                last_error="",
            )
        for message, outcome in outcomes:
            if not outcome.delivered:
                counts[_failed(worker, message, outcome, now, rng)] += 1
        _subscriptions_after(outcomes, now, rng)
    return counts


def _failed(worker, message, outcome, now, rng):
    attempts = message.attempts + 1
    last_chance = give_up_at(message.created_at)
    fields = {"attempts": attempts, "last_error": outcome.error, "claimed_until": None}
    if now >= last_chance:
        fields["status"] = Delivery.DEAD
        result = "dead"
        log.warning(
            "notify: gave up message %s (%s) for %r after %s attempts: %s",
            message.pk,
            message.event.kind,
            message.subscription.name,
            attempts,
            outcome.error,
        )
    else:
        delay = outcome.retry_after
        if delay is None:
            delay = retry_delay(attempts, rng)
        fields["next_attempt_at"] = min(now + timedelta(seconds=delay), last_chance)
        result = "failed"
    OutboxMessage.objects.filter(pk=message.pk, claimed_by=worker).update(**fields)
    return result


def _subscriptions_after(outcomes, now, rng):
    """Healthy again after any delivery; after failures only, one more failure and a rest."""
    by_subscription = defaultdict(list)
    for message, outcome in outcomes:
        by_subscription[message.subscription_id].append(outcome)
    # In primary-key order, as every writer of several subscriptions goes, so two
    # deliverers writing outcomes queue instead of deadlocking.
    for pk, results in sorted(by_subscription.items()):
        delivered = [outcome for outcome in results if outcome.delivered]
        # The common case in one UPDATE: a healthy target that delivered stays healthy.
        healthy = Subscription.objects.filter(pk=pk, consecutive_failures=0)
        if len(delivered) == len(results) and healthy.update(
            last_delivered_at=now, paused_until=None
        ):
            continue
        subscription = Subscription.objects.select_for_update().filter(pk=pk).first()
        if subscription is None:
            continue  # deleted meanwhile, with its messages
        failures = [outcome for outcome in results if not outcome.delivered]
        if failures:
            subscription.last_failed_at = now
            subscription.last_error = failures[-1].error
        if delivered:
            _recovered(subscription, now)
        else:
            _failing(subscription, failures, now, rng)
        subscription.save(update_fields=HEALTH_FIELDS)


def _recovered(subscription, now):
    if subscription.consecutive_failures:
        # The receiver is back: what waited for it is due now, not at its own backoff.
        waiting = OutboxMessage.objects.filter(
            subscription=subscription, status=Delivery.PENDING, next_attempt_at__gt=now
        )
        released = waiting.update(next_attempt_at=now)
        log.info("notify: %r delivers again; %s waiting messages due", subscription.name, released)
    subscription.consecutive_failures = 0
    subscription.paused_until = None
    subscription.last_delivered_at = now


def _failing(subscription, failures, now, rng):
    subscription.consecutive_failures += 1
    told = [outcome.retry_after for outcome in failures if outcome.retry_after is not None]
    rest = max(told) if told else retry_delay(subscription.consecutive_failures, rng)
    subscription.paused_until = now + timedelta(seconds=rest)
    if subscription.consecutive_failures == 1:
        log.warning("notify: %r failing: %s", subscription.name, failures[-1].error)
