"""The append-only audit log every action writes."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from orderstate.models.common import DEFAULT_ACCOUNT, ReadableJSONField
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


class WritingTransaction(models.Expression):
    """The id of the transaction that inserts a row, on PostgreSQL; 0 elsewhere.

    The event feed's order (orderstate/event_feed/settled.py): ids are handed out
    at INSERT but rows become visible at COMMIT, so a reader ordering by id alone
    could pass over an event that commits after a later one.
    """

    output_field = models.BigIntegerField()
    allowed_default = True

    def as_sql(self, compiler, connection):
        # SQLite has one writer at a time: ids are handed out in commit order.
        return "0", []

    def as_postgresql(self, compiler, connection):
        return "(pg_current_xact_id()::text::bigint)", []


class OrderEvent(models.Model):
    """Append-only audit log: who changed what, when, from where."""

    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    # The order's account and base symbol, or for events of no order (failed buys,
    # trades, ledger rebuilds) the ones the event is about: the feed filters on them.
    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    symbol = models.CharField(max_length=40, blank=True, help_text="Base symbol, e.g. RELIANCE")
    writer_xid = models.BigIntegerField(db_default=WritingTransaction(), editable=False)
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
            models.Index(fields=["writer_xid", "id"], name="event_feed_position"),
        ]

    def __str__(self):
        return f"{self.kind} {self.from_status}→{self.to_status} at {self.at:%Y-%m-%d %H:%M:%S}"
