"""The lot ledger behind every position: each counted fill is a lot, matched first in, first out.

A `Position` row per account and symbol is where the ledger stands (net
quantity, the last lot's time, the open trade) and the lock every fill of the
symbol takes. A `Lot` keeps its time and cost for as long as the database
lives (a tax report needs holding periods). A `LotMatch` pairs sold shares
with the bought ones they closed; P&L is the sum of those pairs, exact.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from orderstate.models.common import AVERAGE, DEFAULT_ACCOUNT
from orderstate.models.orders import Order, Side
from orderstate.models.trades import Trade


class Position(models.Model):
    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    symbol = models.CharField(max_length=40, help_text="Base symbol, e.g. RELIANCE")
    net_quantity = models.IntegerField(
        default=0, help_text="Shares held by the ledger; below zero while oversold"
    )
    last_at = models.DateTimeField(null=True, blank=True, help_text="Time of the latest lot")
    open_trade = models.ForeignKey(
        Trade, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_unique_symbol"),
        ]

    def __str__(self):
        return f"{self.symbol} {self.net_quantity:+d}"


class LotSource(models.TextChoices):
    FILL = "fill", "A fill counted by the bot's report or the broker's cumulative figure"
    TRADE_BOOK = "trade_book", "The broker's own fill, from its trade book"
    ADJUSTMENT = "adjustment", "The broker's quantity accepted by a staff user"


class Lot(models.Model):
    """Shares bought or sold by one fill, at its price and time; `open_quantity` of them unmatched.

    An unmatched BUY is held; an unmatched SELL is oversold (sold before the
    buy that covers it was recorded) and is netted against the next buy. A
    manual sell's shares that no earlier lot covers were held outside
    orderstate: they are `outside_quantity`, never netted.
    """

    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    symbol = models.CharField(max_length=40)
    side = models.CharField(max_length=4, choices=Side.choices)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**AVERAGE)
    at = models.DateTimeField(help_text="When the fill executed (as well as it is known)")
    recorded_at = models.DateTimeField(default=timezone.now, help_text="When it was recorded")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="lots"
    )
    manual = models.BooleanField(
        default=False, help_text="From an order placed outside the bot, seen at the broker"
    )
    source = models.CharField(
        max_length=12,
        choices=LotSource.choices,
        default=LotSource.FILL,
        help_text="A fill lot is replaced by the broker's own fill when its trade book shows it",
    )
    open_quantity = models.PositiveIntegerField()
    outside_quantity = models.PositiveIntegerField(default=0)
    position_after = models.IntegerField(
        null=True, blank=True, help_text="Net quantity of the symbol once this lot is applied"
    )
    trade = models.ForeignKey(
        Trade, null=True, blank=True, on_delete=models.SET_NULL, related_name="lots"
    )
    part_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="parts",
        help_text="The fill's first lot, when the fill was split between two trades",
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="lot_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="lot_price_positive"),
            models.CheckConstraint(
                condition=Q(open_quantity__lte=F("quantity") - F("outside_quantity")),
                name="lot_open_within_quantity",
            ),
            models.CheckConstraint(condition=Q(side__in=Side.values), name="lot_side_valid"),
            models.CheckConstraint(
                condition=Q(source__in=LotSource.values), name="lot_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(side=Side.SELL) | Q(outside_quantity=0), name="lot_outside_only_sold"
            ),
        ]
        indexes = [
            # The open end: matching reads the oldest unmatched lots, never the closed past.
            models.Index(
                fields=["account", "symbol", "side", "at", "id"],
                condition=Q(open_quantity__gt=0),
                name="lot_open_end",
            ),
            models.Index(fields=["account", "symbol", "at", "id"], name="lot_symbol_time"),
            # Where the position last stood at zero: the start of a replay.
            models.Index(
                fields=["account", "symbol", "at", "id"],
                condition=Q(position_after=0),
                name="lot_flat_points",
            ),
        ]

    def __str__(self):
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price} ({self.at:%Y-%m-%d})"

    @property
    def cost(self):
        """What the lot's shares cost or fetched, exact."""
        return self.price * self.quantity


class OutsideHolding(models.Model):
    """Shares of a symbol the account holds outside orderstate (a trader's own portfolio),
    as a staff user confirmed them: the positions check flags only a change of this extra."""

    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    symbol = models.CharField(max_length=40)
    quantity = models.PositiveIntegerField(help_text="Broker quantity beyond orderstate's")
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="outside_unique_symbol"),
        ]

    def __str__(self):
        return f"{self.symbol}: {self.quantity} held outside orderstate"


class LotMatch(models.Model):
    """`quantity` shares of a sell lot matched to a buy lot; their P&L is exact."""

    buy = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="sold_by")
    sell = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="bought_by")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="lotmatch_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} of lot {self.sell_id} against lot {self.buy_id}"

    @property
    def pnl(self):
        return (self.sell.price - self.buy.price) * self.quantity
