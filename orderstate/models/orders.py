"""Orders as the broker knows them, and the fills reported for them."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from orderstate.models.common import (
    AVERAGE,
    DEFAULT_ACCOUNT,
    PRICE,
    ReadableJSONField,
    positive_or_null,
)
from orderstate.states import ACTIVE, Status


class Side(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class OrderType(models.TextChoices):
    MARKET = "MARKET", "Market"
    LIMIT = "LIMIT", "Limit"
    SL = "SL", "Stop-loss"
    SL_M = "SL-M", "Stop-loss market"


class Variety(models.TextChoices):
    REGULAR = "REGULAR", "Regular"
    AMO = "AMO", "After market"


class Product(models.TextChoices):
    CNC = "CNC", "Delivery (CNC)"
    MIS = "MIS", "Intraday (MIS)"
    NRML = "NRML", "Normal (NRML)"


class Source(models.TextChoices):
    BOT = "bot", "Bot"
    BROKER = "broker", "Broker"
    IMPORT = "import", "Import"
    ADMIN = "admin", "Admin"


class OrderQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE)

    def sells(self):
        return self.filter(side=Side.SELL)

    def tracked_sells(self):
        """The bot's sell orders: at most one active per symbol (orders placed outside the
        bot, seen at the broker, may run beside it)."""
        return self.sells().exclude(source=Source.BROKER)

    def buys(self):
        return self.filter(side=Side.BUY)

    def for_account(self, account):
        return self.filter(account=account)


class Order(models.Model):
    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    broker_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=40, help_text="Broker trading symbol, e.g. RELIANCE-EQ")
    base_symbol = models.CharField(max_length=40, help_text="e.g. RELIANCE")
    ticker = models.CharField(max_length=40, blank=True, help_text="e.g. RELIANCE.NS")
    exchange = models.CharField(max_length=8, default="NSE")
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=8, choices=OrderType.choices, default=OrderType.LIMIT)
    variety = models.CharField(max_length=8, choices=Variety.choices, default=Variety.REGULAR)
    product = models.CharField(max_length=8, choices=Product.choices, default=Product.CNC)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE, null=True, blank=True)
    trigger_price = models.DecimalField(**PRICE, null=True, blank=True)
    filled_quantity = models.PositiveIntegerField(default=0)
    broker_filled_quantity = models.PositiveIntegerField(
        default=0, help_text="Filled quantity in the broker's latest report applied by a sync"
    )
    exact_filled_quantity = models.PositiveIntegerField(
        default=0, help_text="Quantity of the fills recorded from the broker's trade book"
    )
    average_price = models.DecimalField(**AVERAGE, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    broker_status = models.CharField(max_length=64, blank=True)
    trade = models.ForeignKey(
        "Trade", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    metadata = ReadableJSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    version = models.PositiveIntegerField(default=1)
    placed_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    missing_count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.BOT)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "broker_order_id"], name="order_unique_broker_id"
            ),
            models.UniqueConstraint(
                fields=["account", "base_symbol"],
                condition=Q(side=Side.SELL, status__in=sorted(ACTIVE)) & ~Q(source=Source.BROKER),
                name="order_one_active_sell_per_symbol",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0) & Q(filled_quantity__lte=F("quantity")),
                name="order_filled_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(broker_filled_quantity__lte=F("quantity")),
                name="order_broker_filled_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(exact_filled_quantity__lte=F("filled_quantity")),
                name="order_exact_filled_within_filled",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.EXECUTED) | Q(filled_quantity=F("quantity")),
                name="order_executed_is_fully_filled",
            ),
            models.CheckConstraint(
                condition=positive_or_null("price"), name="order_price_positive"
            ),
            models.CheckConstraint(
                condition=positive_or_null("trigger_price"), name="order_trigger_price_positive"
            ),
            models.CheckConstraint(
                condition=positive_or_null("average_price"), name="order_average_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="order_status_valid"
            ),
            models.CheckConstraint(condition=Q(side__in=Side.values), name="order_side_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="order_version_positive"),
            models.CheckConstraint(
                condition=~Q(broker_order_id="") & ~Q(base_symbol=""), name="order_ids_not_blank"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "side"], name="order_status_side"),
            models.Index(fields=["base_symbol", "status"], name="order_symbol_status"),
            models.Index(fields=["updated_at"], name="order_updated"),
            models.Index(fields=["closed_at"], name="order_closed"),
            # Serves the newest-first list and, covering status, the overview's chart.
            models.Index(fields=["placed_at", "id", "status"], name="order_placed"),
            # One status, newest first (the executed tab, the admin's status filter).
            models.Index(fields=["status", "placed_at", "id"], name="order_status_placed"),
            # One status sorted by quantity (the order list's Qty column on a status tab).
            models.Index(fields=["status", "quantity", "id"], name="order_status_quantity"),
        ]

    def __str__(self):
        return f"{self.side} {self.quantity} {self.symbol} #{self.broker_order_id} ({self.status})"

    @property
    def is_active(self):
        return self.status in ACTIVE

    @property
    def remaining_quantity(self):
        return self.quantity - self.filled_quantity

    def registration_summary(self):
        """What a `registered` event records of the order."""
        return {
            "side": self.side,
            "symbol": self.symbol,
            "quantity": self.quantity,
            "price": str(self.price) if self.price is not None else None,
        }


class FillSource(models.TextChoices):
    BOT = "bot", "Reported by the bot"
    BROKER = "broker", "The broker's trade book"


class Fill(models.Model):
    """One execution reported for an order; `fill_id` makes a repeated report a no-op.

    The bot's fills and the broker's (its trade book, `fill_id` = Kotak's `flId`)
    are two views of the same executions, kept apart: an order's filled quantity
    is the larger of their totals (and of the broker's cumulative figure), never a sum.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    source = models.CharField(max_length=8, choices=FillSource.choices, default=FillSource.BOT)
    # NULL, not "", for "no id": the partial unique constraint below skips it.
    fill_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**AVERAGE)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "source", "fill_id"],
                condition=Q(fill_id__isnull=False),
                name="fill_unique_id_per_order_source",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} @ {self.price} ({self.fill_id or 'no id'})"
