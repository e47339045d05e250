"""Order statuses and the moves allowed between them; nothing else."""

from django.db import models

from orderstate.validation import parse_choice


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


def parse_status(value, field="status"):
    """A status from the bot's loose input ("executed", " OPEN "); ValidationError otherwise."""
    return parse_choice(value, Status, field)
