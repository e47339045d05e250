"""The order state as rows: orders and fills, positions, the failed-buy queue, the audit log,
sync runs, the order feed's status, API tokens and the paper broker's book.

Rows are read anywhere and changed only by `orderstate.actions`. Invariants are
database constraints too, so a bad row is refused whoever writes it. Each model
lives in the module of its topic; import them from here.
"""

from orderstate.models.auth import ApiToken, LoginFailure
from orderstate.models.common import AMOUNT, AVERAGE, DEFAULT_ACCOUNT, PRICE
from orderstate.models.events import EventKind, EventSource, OrderEvent
from orderstate.models.failed_orders import FailedOrder, FailedOrderStatus
from orderstate.models.feed import FeedStatus
from orderstate.models.ledger import Lot, LotMatch, Position
from orderstate.models.orders import Fill, Order, OrderType, Product, Side, Source, Variety
from orderstate.models.paper import PaperOrder
from orderstate.models.sync import InstanceLock, SyncOutcome, SyncRun
from orderstate.models.trades import Trade, TradeStatus

__all__ = [
    "AMOUNT",
    "AVERAGE",
    "DEFAULT_ACCOUNT",
    "PRICE",
    "ApiToken",
    "EventKind",
    "EventSource",
    "FailedOrder",
    "FailedOrderStatus",
    "FeedStatus",
    "Fill",
    "InstanceLock",
    "LoginFailure",
    "Lot",
    "LotMatch",
    "Order",
    "OrderEvent",
    "OrderType",
    "PaperOrder",
    "Position",
    "Product",
    "Side",
    "Source",
    "SyncOutcome",
    "SyncRun",
    "Trade",
    "TradeStatus",
    "Variety",
]
