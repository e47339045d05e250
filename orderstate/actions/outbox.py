"""Outbox rows for the events being written, in the same transaction as the events.

`base.write_events` (and a sync batch's buffered INSERT) call `enqueue` right
after inserting the events: a change that rolls back takes its outbox rows with
it, and a change that commits has them already. `deliver_notifications` sends
them later (orderstate/notify).
"""

from orderstate.models import NOTIFIABLE_KINDS, EventSource, OutboxMessage, Subscription

WANTED = frozenset(NOTIFIABLE_KINDS)


def enqueue(events, account):
    """One outbox row per (saved event, active subscription that wants it); returns the rows.

    `account` is the context's, for events about no order. Imported history
    (source `import`) is not news and notifies no one. Events of kinds nobody
    can want cost no query, so registrations and price updates stay as fast.
    """
    candidates = [
        event for event in events if event.kind in WANTED and event.source != EventSource.IMPORT
    ]
    if not candidates:
        return []
    subscriptions = list(Subscription.objects.filter(active=True).only("kinds", "account"))
    rows = []
    for event in candidates:
        event_account = event.order.account if event.order_id else account
        rows.extend(
            OutboxMessage(
                subscription=subscription,
                event=event,
                account=event_account,
                created_at=event.at,
                next_attempt_at=event.at,
            )
            for subscription in subscriptions
            if subscription.wants(event.kind, event_account)
        )
    return OutboxMessage.objects.bulk_create(rows)
