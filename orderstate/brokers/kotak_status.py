"""Kotak Neo's words for an order's status (`ordSt`) and what they mean here.

Kotak documents eight values (docs/functions/websocket/order_feed.md and the
SDK's `OrderStatus`) and says the list is open: the server may send others.
Kotak's order system is NEST; the NEST words other brokers' code maps are kept
here too, each as what it means, though Kotak's docs never show them. A word
not in the map leaves the order's status as it is (its fills still count).
"""

from orderstate.states import Status

# Kotak Neo `ordSt` text, lower-cased, to our status. Active words map to OPEN;
# `from_broker_status` upgrades them to PARTIALLY_FILLED when some quantity filled.
KOTAK_STATUS = {
    # Documented by Kotak.
    "put order req received": Status.OPEN,
    "validation pending": Status.OPEN,
    "open pending": Status.OPEN,
    "open": Status.OPEN,
    "complete": Status.EXECUTED,
    "rejected": Status.REJECTED,
    "cancelled": Status.CANCELLED,
    "modified": Status.OPEN,
    # Named in Kotak's prose only (cancel_order.md: "already complete/traded/...").
    "traded": Status.EXECUTED,
    # NEST words, not in Kotak's docs: an order being modified or cancelled is still
    # live at the exchange until the request is done, and a refused request leaves it live.
    "trigger pending": Status.OPEN,
    "modify pending": Status.OPEN,
    "modify validation pending": Status.OPEN,
    "cancel pending": Status.OPEN,
    "not modified": Status.OPEN,
    "not cancelled": Status.OPEN,
    "after market order req received": Status.OPEN,
    "modify after market order req received": Status.OPEN,
    "cancelled after market order": Status.CANCELLED,
}
# After-market orders show only in their status words: Kotak's rows carry no AMO field.
AMO_STATUSES = frozenset(
    {
        "after market order req received",
        "modify after market order req received",
        "cancelled after market order",
    }
)


def from_broker_status(text, quantity=0, filled_quantity=0):
    """Our status for a broker status text, or None when the text is unknown."""
    status = KOTAK_STATUS.get((text or "").strip().lower())
    if status == Status.OPEN and 0 < filled_quantity < quantity:
        return Status.PARTIALLY_FILLED
    return status


def is_after_market(text):
    return (text or "").strip().lower() in AMO_STATUSES
