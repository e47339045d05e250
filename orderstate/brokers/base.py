"""What every broker gives the sync: a typed, normalised order book.

Each broker turns its own rows into `BrokerOrder`s; a row that cannot be read
is kept out of the book and reported, so one bad row never hides the others.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from orderstate.models import OrderType, Side, Variety
from orderstate.states import Status


class BrokerUnavailable(Exception):
    """The broker's book could not be fetched; the sync changes nothing."""


class BadBrokerRow(ValueError):
    """One order-book row that cannot be read; it is reported and skipped."""

    def __init__(self, message, order_id=None):
        super().__init__(message)
        self.order_id = order_id


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    order_id: str
    symbol: str
    base_symbol: str
    side: Side
    quantity: int
    filled_quantity: int
    price: Decimal | None
    average_price: Decimal | None
    status: Status | None  # None: a status text we do not know
    broker_status: str
    reason: str = ""
    placed_at: datetime | None = None
    exchange: str = "NSE"
    order_type: OrderType = OrderType.LIMIT
    variety: Variety = Variety.REGULAR
    trigger_price: Decimal | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


class OrderBook(list):
    """The parsed orders, plus a message for each row that could not be parsed.

    `unreadable_ids` are the order ids of those rows, where one could be read:
    such an order is in the book, so it must not be counted missing from it.
    """

    def __init__(self, orders=(), errors=(), unreadable_ids=()):
        super().__init__(orders)
        self.errors = list(errors)
        self.unreadable_ids = set(unreadable_ids)


class Broker(Protocol):
    name: str

    def fetch_order_book(self) -> list[BrokerOrder]:
        """The whole book; raises BrokerUnavailable when it cannot be had."""
