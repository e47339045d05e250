"""The append-only audit log every action writes."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from orderstate.models.common import ReadableJSONField
from orderstate.models.orders import Order


class EventSource(models.TextChoices):
    API = "api", "API"
    SYNC = "sync", "Sync"
    ADMIN = "admin", "Admin"
    IMPORT = "import", "Import"
    CLI = "cli", "Command line"
    BOT = "bot", "Bot (in process)"
    DASHBOARD = "dashboard", "Dashboard"


class EventKind(models.TextChoices):
    REGISTERED = "registered", "Registered"
    STATUS_CHANGED = "status_changed", "Status changed"
    FILL = "fill", "Fill"
    EXECUTED = "executed", "Executed"
    LATE_FILL = "late_fill", "Late fill"
    PRICE_UPDATED = "price_updated", "Price updated"
    QUANTITY_CHANGED = "quantity_changed", "Quantity changed at the broker"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    REPLACED = "replaced", "Replaced"
    MISSING = "missing", "Missing from broker book"
    FLAGGED = "flagged", "Flagged"
    TRADE_OPENED = "trade_opened", "Trade opened"
    TRADE_CLOSED = "trade_closed", "Trade closed"
    TRADE_UPDATED = "trade_updated", "Trade updated"
    FAILED_ORDER = "failed_order", "Failed order"
    FILL_CORRECTED = "fill_corrected", "Fill corrected from the trade book"
    POSITION_ADJUSTED = "position_adjusted", "Position set to the broker's quantity"
    OUTSIDE_CONFIRMED = "outside_confirmed", "Holding outside orderstate confirmed"
    NOTE = "note", "Note"
    # Not about one order's state: what notifications are for (orderstate/notify).
    MANUAL_TRADE = "manual_trade", "Manual trade detected"
    POSITION_MISMATCH = "position_mismatch", "Position mismatch"
    SYNC_FAILED = "sync_failed", "Sync failed"
    SYNC_STALE = "sync_stale", "Sync stale"
    FEED_DOWN = "feed_down", "Order feed down"
    NOTIFICATION_TEST = "notification_test", "Test notification"


class OrderEvent(models.Model):
    """Append-only audit log: who changed what, when, from where."""

    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=10, choices=EventSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    data = ReadableJSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["order", "at"], name="event_order_at"),
            models.Index(fields=["at"], name="event_at"),
        ]

    def __str__(self):
        return f"{self.kind} {self.from_status}→{self.to_status} at {self.at:%Y-%m-%d %H:%M:%S}"
