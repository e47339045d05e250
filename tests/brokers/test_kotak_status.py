"""Kotak's `ordSt` text and fill counts map to our statuses (DESIGN.md's table)."""

import pytest

from orderstate.brokers.kotak_status import from_broker_status
from orderstate.states import Status


@pytest.mark.parametrize(
    ("text", "qty", "filled", "expected"),
    [
        ("complete", 10, 10, Status.EXECUTED),
        ("TRADED", 10, 10, Status.EXECUTED),
        ("rejected", 10, 0, Status.REJECTED),
        ("cancelled", 10, 3, Status.CANCELLED),
        ("open", 10, 0, Status.OPEN),
        ("open", 10, 4, Status.PARTIALLY_FILLED),
        ("trigger pending", 10, 0, Status.OPEN),
        ("modified", 10, 0, Status.OPEN),
        ("open pending", 10, 0, Status.OPEN),
        ("after market order req received", 10, 0, Status.OPEN),
        ("put order req received", 10, 0, Status.OPEN),
        ("validation pending", 10, 0, Status.OPEN),
        ("something new", 10, 0, None),
        ("", 10, 0, None),
        (None, 10, 0, None),
    ],
)
def test_kotak_status_text_maps_to_our_status(text, qty, filled, expected):
    assert from_broker_status(text, qty, filled) == expected
