"""Order statuses, the moves allowed between them, and the broker's words for them."""

from django.db import models


class Status(models.TextChoices):
    PENDING = "PENDING", "Pending"
    OPEN = "OPEN", "Open"
    PARTIALLY_FILLED = "PARTIALLY_FILLED", "Partially filled"
    EXECUTED = "EXECUTED", "Executed"
    CANCELLED = "CANCELLED", "Cancelled"
    REJECTED = "REJECTED", "Rejected"


ACTIVE = frozenset({Status.PENDING, Status.OPEN, Status.PARTIALLY_FILLED})
TERMINAL = frozenset({Status.EXECUTED, Status.CANCELLED, Status.REJECTED})

TRANSITIONS = {
    Status.PENDING: frozenset(
        {Status.OPEN, Status.PARTIALLY_FILLED, Status.EXECUTED, Status.CANCELLED, Status.REJECTED}
    ),
    Status.OPEN: frozenset(
        {Status.PARTIALLY_FILLED, Status.EXECUTED, Status.CANCELLED, Status.REJECTED}
    ),
    Status.PARTIALLY_FILLED: frozenset(
        {Status.PARTIALLY_FILLED, Status.EXECUTED, Status.CANCELLED}
    ),
    Status.EXECUTED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.REJECTED: frozenset(),
}

# A cancel can race a fill at the exchange. Only the sync, holding the broker's
# evidence of fills, may move an order we stopped tracking ourselves (the bot
# or an operator marked it CANCELLED or REJECTED while it was filling).
LATE_FILL_TRANSITIONS = {
    Status.CANCELLED: frozenset({Status.PARTIALLY_FILLED, Status.EXECUTED, Status.CANCELLED}),
    Status.REJECTED: frozenset({Status.PARTIALLY_FILLED, Status.EXECUTED, Status.REJECTED}),
}


def can_transition(current, target, *, late_fill=False):
    if late_fill and target in LATE_FILL_TRANSITIONS.get(current, ()):
        return True
    return target in TRANSITIONS[current]


# Kotak Neo `ordSt` text, lower-cased, to our status. Active words map to OPEN;
# `from_broker_status` upgrades them to PARTIALLY_FILLED when some quantity filled.
KOTAK_STATUS = {
    "complete": Status.EXECUTED,
    "traded": Status.EXECUTED,
    "rejected": Status.REJECTED,
    "cancelled": Status.CANCELLED,
    "open": Status.OPEN,
    "trigger pending": Status.OPEN,
    "modified": Status.OPEN,
    "open pending": Status.OPEN,
    "after market order req received": Status.OPEN,
    "put order req received": Status.OPEN,
    "validation pending": Status.OPEN,
}


def from_broker_status(text, quantity=0, filled_quantity=0):
    """Our status for a broker status text, or None when the text is unknown."""
    status = KOTAK_STATUS.get((text or "").strip().lower())
    if status == Status.OPEN and 0 < filled_quantity < quantity:
        return Status.PARTIALLY_FILLED
    return status
