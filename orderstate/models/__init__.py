"""The order state as rows: orders and fills, positions, the failed-buy queue, the audit log,
sync runs, the order feed's status, API tokens, the paper broker's book, and notification
subscriptions with their outbox.

Rows are read anywhere and changed only by `orderstate.actions`. Invariants are
database constraints too, so a bad row is refused whoever writes it. Each model
lives in the module of its topic; import them from here.
"""

from orderstate.models.auth import AccountGrant, ApiToken
from orderstate.models.common import AMOUNT, AVERAGE, DEFAULT_ACCOUNT, PRICE
from orderstate.models.events import EventKind, EventSource, OrderEvent
from orderstate.models.failed_orders import FailedOrder, FailedOrderStatus
from orderstate.models.feed import FeedStatus
from orderstate.models.ledger import Lot, LotMatch, LotSource, OutsideHolding, Position
from orderstate.models.notifications import (
    NOTIFIABLE_KINDS,
    Channel,
    Delivery,
    OutboxMessage,
    Subscription,
)
from orderstate.models.orders import (
    Fill,
    FillSource,
    Order,
    OrderType,
    Product,
    Side,
    Source,
    Variety,
)
from orderstate.models.paper import PaperOrder
from orderstate.models.sync import InstanceLock, SyncOutcome, SyncRun
from orderstate.models.trades import Trade, TradeStatus

__all__ = [
    "AMOUNT",
    "AVERAGE",
    "DEFAULT_ACCOUNT",
    "NOTIFIABLE_KINDS",
    "PRICE",
    "AccountGrant",
    "ApiToken",
    "Channel",
    "Delivery",
    "EventKind",
    "EventSource",
    "FailedOrder",
    "FailedOrderStatus",
    "FeedStatus",
    "Fill",
    "FillSource",
    "InstanceLock",
    "Lot",
    "LotMatch",
    "LotSource",
    "Order",
    "OrderEvent",
    "OrderType",
    "OutboxMessage",
    "OutsideHolding",
    "PaperOrder",
    "Position",
    "Product",
    "Side",
    "Source",
    "Subscription",
    "SyncOutcome",
    "SyncRun",
    "Trade",
    "TradeStatus",
    "Variety",
]
