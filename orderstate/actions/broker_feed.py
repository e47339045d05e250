"""One order update from the broker's real-time feed, applied with the sync's rules.

The sync and the feed share every rule: what a report asks of a known order is
`broker_rule.broker_target`, written by `broker.follow_broker`; an order we
never registered is recorded by `broker.record_broker_order`. The feed applies
one order per transaction, as its frames come.

One rule is the feed's own. A frame may report more filled quantity before it
knows the price (a "complete" frame with avgPrc "0.00", then the same again
with the real average). Such a fill is held back, not applied at a guessed
price: nothing is written, and the frame that brings the price applies it. If
that frame never comes, the stream runs a full sync, which applies the fill
from the order book as it always does. A fill never lands in the ledger at a
price the broker did not give, so no P&L has to be corrected afterwards.
"""

from django.db import transaction

from orderstate.actions.base import find_order
from orderstate.actions.broker import follow_broker, record_broker_order
from orderstate.actions.broker_rule import BrokerReport, broker_target

AWAITING_PRICE = "awaiting_price"
EXTERNAL = "external"


def apply_feed_order(ctx, broker_order):
    """Apply one `BrokerOrder` from the feed; returns (order or None, change names).

    The names are the sync's ("executed", "partially_filled", "late_fill", ...),
    plus "external" for an order recorded as placed outside the bot, and only
    "awaiting_price" when the fill was held back for want of a price.
    """
    report = BrokerReport.of(broker_order)
    with transaction.atomic(durable=True):
        # Locked, so the decision to hold or apply is made on the order as it is
        # now: a sync or the bot filling it at the same moment queues here.
        order = find_order(ctx, broker_order.order_id, lock=True)
        if order is not None:
            if _adds_unpriced_fill(order, report):
                return order, [AWAITING_PRICE]
            return order, follow_broker(ctx, order, report)
    if broker_order.filled_quantity and not _priced(report):
        return None, [AWAITING_PRICE]
    order, changes = record_broker_order(ctx, broker_order)
    return order, [EXTERNAL, *changes]


def _adds_unpriced_fill(order, report):
    return broker_target(order, report).filled > order.filled_quantity and not _priced(report)


def _priced(report):
    return report.average_price is not None and report.average_price > 0
