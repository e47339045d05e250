"""Positions: what the fills of a symbol's orders add up to."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from orderstate.models.common import (
    AMOUNT,
    AVERAGE,
    DEFAULT_ACCOUNT,
    EXACT,
    ReadableJSONField,
    positive_or_null,
)
from orderstate.models.orders import Order


class TradeStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"


class TradeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=TradeStatus.OPEN)

    def closed(self):
        return self.filter(status=TradeStatus.CLOSED)


class Trade(models.Model):
    """One position from flat to flat: the lots of a symbol between two moments it held none.

    Every figure follows from its lots (`actions.ledger`): `quantity` bought,
    `closed_quantity` sold against them, averages for display, and P&L from the
    exact totals, rounded to the paisa once.
    """

    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    symbol = models.CharField(max_length=40, help_text="Base symbol, e.g. RELIANCE")
    ticker = models.CharField(max_length=40, blank=True)
    quantity = models.PositiveIntegerField()
    entry_price = models.DecimalField(**AVERAGE)
    entry_time = models.DateTimeField(default=timezone.now)
    entry_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_quantity = models.PositiveIntegerField(
        default=0, help_text="Shares sold so far; the trade closes when it reaches quantity"
    )
    exit_price = models.DecimalField(**AVERAGE, null=True, blank=True)
    exit_time = models.DateTimeField(null=True, blank=True)
    exit_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    exit_reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=TradeStatus.choices, default=TradeStatus.OPEN)
    realised_pnl = models.DecimalField(**AMOUNT, null=True, blank=True)
    cost = models.DecimalField(**EXACT, default=0, help_text="What the bought shares cost")
    matched_cost = models.DecimalField(
        **EXACT, default=0, help_text="What the shares sold so far cost"
    )
    proceeds = models.DecimalField(**EXACT, default=0, help_text="What the shares sold fetched")
    metadata = ReadableJSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = TradeQuerySet.as_manager()

    class Meta:
        ordering = ["-entry_time", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol"],
                condition=Q(status=TradeStatus.OPEN),
                name="trade_one_open_per_symbol",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_quantity_positive"),
            models.CheckConstraint(
                condition=Q(closed_quantity__lte=F("quantity")), name="trade_closed_within_quantity"
            ),
            models.CheckConstraint(
                condition=Q(entry_price__gt=0), name="trade_entry_price_positive"
            ),
            models.CheckConstraint(
                condition=positive_or_null("exit_price"), name="trade_exit_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(status=TradeStatus.OPEN)
                | (Q(exit_price__isnull=False) & Q(exit_time__isnull=False)),
                name="trade_closed_has_exit",
            ),
            models.CheckConstraint(
                condition=Q(status__in=TradeStatus.values), name="trade_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "symbol"], name="trade_status_symbol"),
            models.Index(fields=["exit_time"], name="trade_exit_time"),
            models.Index(fields=["status", "entry_time"], name="trade_status_entry"),
        ]

    def __str__(self):
        return f"{self.symbol} x{self.quantity} ({self.status})"

    @property
    def open_quantity(self):
        return self.quantity - self.closed_quantity
