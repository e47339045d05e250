"""A deterministic paper broker: orders move with no network, for the demo and paper trading.

Its book lives in the database (`PaperOrder`). Each fetch is one market step:
the orders the bot registered are accepted into the book, orders we stopped
tracking are cancelled in it, and every open order's market price takes one
step of a seeded random walk that drifts towards its limit. A limit buy fills
when the market is at or below its price, a limit sell when at or above;
market orders fill at once. Larger orders fill in parts over several steps, so
partial fills show too. The same seed and the same orders give the same book,
step for step. Each fill is kept with its own id, price and time, so the paper
broker has a trade book too (`fetch_trade_book`).

`market_step()` is the same step taken on the order feed's clock instead of a
sync's: it answers the orders that moved as Kotak's order-feed frames, so
`stream_orders --broker paper` shows orders moving between syncs.
"""

import random
import time
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orderstate.brokers.base import BrokerFill, BrokerOrder, OrderBook, TradeBook
from orderstate.brokers.kotak_status import from_broker_status
from orderstate.market import IST
from orderstate.models import Order, OrderType, PaperOrder, Side, Variety
from orderstate.money import weighted_average
from orderstate.states import ACTIVE
from orderstate.validation import parse_symbol

STEP = Decimal("0.004")  # a step moves the price by up to 0.4%...
DRIFT = Decimal("0.001")  # ...plus 0.1% towards the order's limit, so the demo fills in minutes
START_GAP = Decimal("0.006")  # limit orders start 0.6% away from their price
TICK = Decimal("0.05")
LOT_ORDERS = 5  # orders above this many shares fill in parts


class PaperBroker:
    name = "paper"

    def __init__(self, seed=None, account=None):
        self.seed = settings.ORDERSTATE_PAPER_SEED if seed is None else seed
        self.account = account or settings.ORDERSTATE_DEFAULT_ACCOUNT

    def fetch_order_book(self):
        book, _ = self._take_step()
        return OrderBook(_broker_order(paper) for paper in book.values())

    def market_step(self):
        """One market step; the orders it accepted, moved or cancelled, as order-feed frames."""
        _, moved = self._take_step()
        return [order_frame(paper) for paper in moved]

    def _take_step(self):
        """Step the book under its row locks; returns it by order id, and the orders that moved."""
        with transaction.atomic():
            book = {
                paper.order_id: paper
                for paper in PaperOrder.objects.select_for_update().filter(account=self.account)
            }
            before = {order_id: _state(paper) for order_id, paper in book.items()}
            self._accept_new_orders(book)
            for paper in book.values():
                if paper.status == "open":
                    self._step(paper)
        moved = [paper for order_id, paper in book.items() if before.get(order_id) != _state(paper)]
        return book, moved

    def fetch_trade_book(self):
        """Every fill of the paper book, as the broker's trade book lists them."""
        fills = []
        for paper in PaperOrder.objects.filter(account=self.account).exclude(fills=[]):
            base = parse_symbol(paper.symbol)[1]
            for fill_id, quantity, price, at in paper.fills:
                fills.append(
                    BrokerFill(
                        order_id=paper.order_id,
                        fill_id=fill_id,
                        quantity=quantity,
                        price=Decimal(price),
                        at=datetime.fromisoformat(at),
                        base_symbol=base,
                        side=Side(paper.side),
                    )
                )
        return TradeBook(fills)

    def _accept_new_orders(self, book):
        local = Order.objects.filter(account=self.account).values_list(
            "broker_order_id", "status", "symbol", "side", "order_type", "quantity", "price"
        )
        new = []
        for order_id, status, symbol, side, order_type, quantity, price in local:
            paper = book.get(order_id)
            if paper is None and status in ACTIVE:
                paper = PaperOrder(
                    account=self.account,
                    order_id=order_id,
                    symbol=symbol,
                    side=side,
                    order_type=order_type,
                    quantity=quantity,
                    price=price,
                    market_price=_start_price(side, price),
                    status="open",
                )
                new.append(paper)
                book[order_id] = paper
            elif paper is not None and paper.status == "open" and status not in ACTIVE:
                # We stopped tracking it; a real broker would have had a cancel request.
                paper.status = "cancelled"
                paper.save(update_fields=["status"])
        PaperOrder.objects.bulk_create(new)

    def _step(self, paper):
        walk = random.Random(f"{self.seed}:{paper.order_id}:{paper.steps}")
        towards_limit = -1 if paper.side == Side.BUY else 1
        move = Decimal(str(round(walk.uniform(-1, 1), 4))) * STEP + towards_limit * DRIFT
        paper.market_price = _tick(paper.market_price * (1 + move))
        paper.steps += 1
        limit = paper.price
        fills = limit is None or (
            paper.market_price <= limit if paper.side == Side.BUY else paper.market_price >= limit
        )
        if fills:
            left = paper.quantity - paper.filled_quantity
            lot = left if paper.quantity <= LOT_ORDERS else max(1, -(-paper.quantity // 3))
            qty = min(left, lot)
            at = limit if limit is not None else paper.market_price
            paper.average_price = weighted_average(
                paper.average_price, paper.filled_quantity, at, qty
            )
            paper.filled_quantity += qty
            fill_id = f"{paper.order_id}-{len(paper.fills) + 1}"
            paper.fills = [*paper.fills, [fill_id, qty, str(at), timezone.now().isoformat()]]
            if paper.filled_quantity == paper.quantity:
                paper.status = "complete"
        paper.save()


def _state(paper):
    return paper.status, paper.filled_quantity


def order_frame(paper):
    """A paper order as Kotak's order feed sends one: the documented keys, numbers as numbers."""
    now = time.time_ns()
    placed = timezone.localtime(paper.placed_at, IST).strftime("%d-%b-%Y %H:%M:%S")
    average = paper.average_price if paper.filled_quantity else None
    return {
        "type": "order",
        "data": {
            "nOrdNo": paper.order_id,
            "exOrdId": f"PAPER{paper.pk}",
            "ordSt": paper.status,
            "avgPrc": f"{average:.4f}" if average is not None else "0.00",
            "qty": paper.quantity,
            "fldQty": paper.filled_quantity,
            "unFldSz": paper.quantity - paper.filled_quantity,
            "trnsTp": "B" if paper.side == Side.BUY else "S",
            "prcTp": "MKT" if paper.order_type == OrderType.MARKET else "L",
            "prod": "CNC",
            "exSeg": "nse_cm",
            "sym": parse_symbol(paper.symbol)[1],
            "trdSym": parse_symbol(paper.symbol)[0],
            "tok": "",
            "ordDtTm": placed,
            "updRecvTm": now,
            "boeSec": now // 1_000_000_000,
            "exCfmTm": placed,
        },
    }


def _start_price(side, price):
    """Where the walk starts: a little on the wrong side of the limit, so fills take steps."""
    if price is None:
        return Decimal("100.00")
    gap = -START_GAP if side == Side.SELL else START_GAP
    return _tick(price * (1 + gap))


def _tick(price):
    return max(TICK, (price / TICK).quantize(Decimal(1)) * TICK)


def _broker_order(paper):
    trading_symbol, base = parse_symbol(paper.symbol)
    return BrokerOrder(
        order_id=paper.order_id,
        symbol=trading_symbol,
        base_symbol=base,
        side=Side(paper.side),
        quantity=paper.quantity,
        filled_quantity=paper.filled_quantity,
        price=paper.price,
        average_price=paper.average_price,
        status=from_broker_status(paper.status, paper.quantity, paper.filled_quantity),
        broker_status=paper.status,
        placed_at=paper.placed_at,
        order_type=OrderType(paper.order_type),
        variety=Variety.REGULAR,
    )
