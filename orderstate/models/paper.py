"""The paper broker's own order book: what a real broker would hold."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from orderstate.models.common import AVERAGE, DEFAULT_ACCOUNT, PRICE
from orderstate.models.orders import OrderType, Side


class PaperOrder(models.Model):
    """The paper broker's own order book: what a real broker would hold."""

    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=40)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=8, choices=OrderType.choices)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE, null=True, blank=True)
    filled_quantity = models.PositiveIntegerField(default=0)
    average_price = models.DecimalField(**AVERAGE, null=True, blank=True)
    market_price = models.DecimalField(**PRICE)
    status = models.CharField(max_length=40, help_text="Broker status text, as Kotak words it")
    steps = models.PositiveIntegerField(default=0)
    placed_at = models.DateTimeField(default=timezone.now)
    fills = models.JSONField(
        default=list,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text="Its trade book: [fill id, quantity, price, time] of each fill",
    )

    class Meta:
        ordering = ["placed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "order_id"], name="paper_unique_order_id")
        ]

    def __str__(self):
        return f"paper {self.side} {self.quantity} {self.symbol} #{self.order_id} ({self.status})"
