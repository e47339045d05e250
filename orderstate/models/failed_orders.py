"""The failed-buy queue: buys that could not be placed, retried until the next market open."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from orderstate.models.common import DEFAULT_ACCOUNT, PRICE, ReadableJSONField, positive_or_null


class FailedOrderStatus(models.TextChoices):
    WAITING = "WAITING", "Waiting for retry"
    RETRIED = "RETRIED", "Retried"
    EXPIRED = "EXPIRED", "Expired"
    BOUGHT_MANUALLY = "BOUGHT_MANUALLY", "Bought manually"


class FailedOrderQuerySet(models.QuerySet):
    def waiting(self):
        return self.filter(status=FailedOrderStatus.WAITING)


class FailedOrder(models.Model):
    """A buy that could not be placed; retried until the next market open."""

    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    symbol = models.CharField(max_length=40, help_text="Base symbol, e.g. TCS")
    trading_symbol = models.CharField(max_length=40, blank=True)
    ticker = models.CharField(max_length=40, blank=True)
    quantity = models.PositiveIntegerField()
    reference_price = models.DecimalField(**PRICE, null=True, blank=True)
    reason = models.TextField(blank=True)
    first_failed_at = models.DateTimeField(default=timezone.now)
    last_retry_at = models.DateTimeField(null=True, blank=True)
    retry_count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=FailedOrderStatus.choices, default=FailedOrderStatus.WAITING
    )
    retry_order_id = models.CharField(max_length=64, blank=True)
    metadata = ReadableJSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = FailedOrderQuerySet.as_manager()

    class Meta:
        ordering = ["-first_failed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol"],
                condition=Q(status=FailedOrderStatus.WAITING),
                name="failed_one_waiting_per_symbol",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="failed_quantity_positive"),
            models.CheckConstraint(
                condition=positive_or_null("reference_price"), name="failed_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=FailedOrderStatus.values), name="failed_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "first_failed_at"], name="failed_status_time")]

    def __str__(self):
        return f"{self.symbol} x{self.quantity} ({self.status})"
