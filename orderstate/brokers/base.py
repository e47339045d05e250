"""What every broker gives the sync: a typed, normalised order book, and where a broker
has them, its fills (the trade book) and the cash-equity quantities the account holds.

Each broker turns its own rows into `BrokerOrder`s and `BrokerFill`s; a row that
cannot be read is kept out and reported, so one bad row never hides the others.
Rows of segments other than cash equities (`nse_cm`, `bse_cm`) are skipped and
counted: orderstate tracks NSE/BSE cash equities only.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from orderstate.models import OrderType, Side, Variety
from orderstate.states import Status


class BrokerUnavailable(Exception):
    """The broker's book could not be fetched; the sync changes nothing."""


class BrokerLoginRefused(BrokerUnavailable):
    """The broker refused the credentials or this machine: retrying cannot help.

    The run ends at once with a message that says what to fix, and a looping
    sync waits long before it tries to log in again.
    """


class BadBrokerRow(ValueError):
    """One order-book row that cannot be read; it is reported and skipped."""

    def __init__(self, message, order_id=None):
        super().__init__(message)
        self.order_id = order_id


class OtherSegment(BadBrokerRow):
    """A row of a segment that is not cash equities (F&O, commodities, currency): skipped."""


CASH_SEGMENTS = {"nse_cm": "NSE", "bse_cm": "BSE"}


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


@dataclass(frozen=True, slots=True)
class BrokerFill:
    """One execution from the broker's trade book: its own id, quantity, price and time."""

    order_id: str
    fill_id: str
    quantity: int
    price: Decimal
    at: datetime
    base_symbol: str = ""
    side: Side | None = None


class OrderBook(list):
    """The parsed orders, plus a message for each row that could not be parsed.

    `unreadable_ids` are the order ids of those rows, where one could be read:
    such an order is in the book, so it must not be counted missing from it.
    `skipped` counts rows of other segments (F&O, commodities, currency).
    """

    def __init__(self, orders=(), errors=(), unreadable_ids=(), skipped=0):
        super().__init__(orders)
        self.errors = list(errors)
        self.unreadable_ids = set(unreadable_ids)
        self.skipped = skipped


class TradeBook(list):
    """The parsed fills (`BrokerFill`), one per fill id, with the unreadable rows' messages
    and the count of other segments' rows skipped."""

    def __init__(self, fills=(), errors=(), skipped=0):
        super().__init__(fills)
        self.errors = list(errors)
        self.skipped = skipped

    def by_order(self):
        """{order id: its fills in execution order}."""
        grouped = {}
        for fill in sorted(self, key=lambda fill: (fill.at, fill.fill_id)):
            grouped.setdefault(fill.order_id, []).append(fill)
        return grouped


@dataclass(frozen=True, slots=True)
class Holding:
    """What the broker says the account holds of one symbol in cash equities: its
    delivery holdings plus today's net delivery (CNC) position."""

    symbol: str
    quantity: int
    average_price: Decimal | None = None


class Broker(Protocol):
    """What the sync reads. `fetch_trade_book()` and `fetch_holdings()` are optional:
    a broker without them is followed through its order book's cumulative figures, and
    its positions are not checked."""

    name: str

    def fetch_order_book(self) -> list[BrokerOrder]:
        """The whole book; raises BrokerUnavailable when it cannot be had."""
