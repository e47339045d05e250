"""Kotak Neo's words for an order's status (`ordSt`) and what they mean here."""

from orderstate.states import Status

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
