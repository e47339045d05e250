"""The order state: orders, positions, the failed-buy queue, the audit log and sync runs.

Rows are read here and changed only by `orderstate.manager.OrderStateManager`.
Invariants are database constraints too, so a bad row is refused whoever writes it.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from orderstate.states import ACTIVE, Status

PRICE = {"max_digits": 14, "decimal_places": 2}
AVERAGE = {"max_digits": 16, "decimal_places": 4}
AMOUNT = {"max_digits": 18, "decimal_places": 2}
DEFAULT_ACCOUNT = "default"


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


class EventSource(models.TextChoices):
    API = "api", "API"
    SYNC = "sync", "Sync"
    ADMIN = "admin", "Admin"
    IMPORT = "import", "Import"
    CLI = "cli", "Command line"
    BOT = "bot", "Bot (in process)"
    DASHBOARD = "dashboard", "Dashboard"


def _positive_or_null(field):
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": 0})


class OrderQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE)

    def sells(self):
        return self.filter(side=Side.SELL)

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
    average_price = models.DecimalField(**AVERAGE, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    broker_status = models.CharField(max_length=64, blank=True)
    trade = models.ForeignKey(
        "Trade", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
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
                condition=Q(side=Side.SELL, status__in=sorted(ACTIVE)),
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
                condition=~Q(status=Status.EXECUTED) | Q(filled_quantity=F("quantity")),
                name="order_executed_is_fully_filled",
            ),
            models.CheckConstraint(
                condition=_positive_or_null("price"), name="order_price_positive"
            ),
            models.CheckConstraint(
                condition=_positive_or_null("trigger_price"), name="order_trigger_price_positive"
            ),
            models.CheckConstraint(
                condition=_positive_or_null("average_price"), name="order_average_price_positive"
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


class Fill(models.Model):
    """One execution reported for an order; `fill_id` makes a repeated report a no-op."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    # NULL, not "", for "no id": the partial unique constraint below skips it.
    fill_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**AVERAGE)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "fill_id"],
                condition=Q(fill_id__isnull=False),
                name="fill_unique_id_per_order",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} @ {self.price} ({self.fill_id or 'no id'})"


class TradeStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    CLOSED = "CLOSED", "Closed"


class TradeQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=TradeStatus.OPEN)

    def closed(self):
        return self.filter(status=TradeStatus.CLOSED)


EXIT_FIELDS = [
    "exit_price",
    "closed_quantity",
    "realised_pnl",
    "exit_order",
    "updated_at",
    "status",
    "exit_time",
    "exit_reason",
]


class Trade(models.Model):
    """A position: bought by an entry order, closed by an exit order."""

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
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
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
                condition=_positive_or_null("exit_price"), name="trade_exit_price_positive"
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

    def record_exit(self, quantity, exit_price, pnl, order, at):
        """Book `quantity` sold; the trade closes when none is left (manager only)."""
        self.exit_price = exit_price
        self.closed_quantity += quantity
        self.realised_pnl = (self.realised_pnl or 0) + pnl
        self.exit_order = order
        self.updated_at = at
        if self.closed_quantity == self.quantity:
            self.status = TradeStatus.CLOSED
            self.exit_time = at
            self.exit_reason = self.exit_reason or order.metadata.get("exit_reason", "target")
        self.save(update_fields=EXIT_FIELDS)


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
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
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
                condition=_positive_or_null("reference_price"), name="failed_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=FailedOrderStatus.values), name="failed_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "first_failed_at"], name="failed_status_time")]

    def __str__(self):
        return f"{self.symbol} x{self.quantity} ({self.status})"

    def move_to(self, status, at):
        """Record the queue entry's new status (called by retry_queue inside its lock)."""
        self.status = status
        if status != FailedOrderStatus.EXPIRED:
            self.last_retry_at = at
        self.updated_at = at
        self.save()

    def reopen(self, at):
        """Wait again from `at`, keeping the first failure in metadata (retry_queue.requeue)."""
        self.metadata = {
            **self.metadata,
            "first_failed_originally": self.metadata.get(
                "first_failed_originally", self.first_failed_at.isoformat()
            ),
        }
        self.first_failed_at = at
        self.retry_count += 1
        self.move_to(FailedOrderStatus.WAITING, at)


class EventKind(models.TextChoices):
    REGISTERED = "registered", "Registered"
    STATUS_CHANGED = "status_changed", "Status changed"
    FILL = "fill", "Fill"
    EXECUTED = "executed", "Executed"
    LATE_FILL = "late_fill", "Late fill"
    PRICE_UPDATED = "price_updated", "Price updated"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    REPLACED = "replaced", "Replaced"
    MISSING = "missing", "Missing from broker book"
    FLAGGED = "flagged", "Flagged"
    TRADE_OPENED = "trade_opened", "Trade opened"
    TRADE_CLOSED = "trade_closed", "Trade closed"
    TRADE_UPDATED = "trade_updated", "Trade updated"
    FAILED_ORDER = "failed_order", "Failed order"
    NOTE = "note", "Note"


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
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["order", "at"], name="event_order_at"),
            models.Index(fields=["at"], name="event_at"),
        ]

    def __str__(self):
        return f"{self.kind} {self.from_status}→{self.to_status} at {self.at:%Y-%m-%d %H:%M:%S}"


class SyncOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class SyncRun(models.Model):
    broker = models.CharField(max_length=16)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=8, choices=SyncOutcome.choices, default=SyncOutcome.RUNNING
    )
    dry_run = models.BooleanField(default=False)
    stats = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["outcome", "started_at"], name="sync_outcome_started")]

    def __str__(self):
        return f"{self.broker} sync at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class LoginFailure(models.Model):
    """One failed log-in, keyed by username or client address (orderstate/login_guard.py).

    In the database, not process memory, so a lockout holds across workers and hosts.
    """

    key = models.CharField(max_length=200)
    failed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["key", "failed_at"], name="login_failure_key_at")]

    def __str__(self):
        return f"{self.key} failed at {self.failed_at:%Y-%m-%d %H:%M:%S}"


class InstanceLock(models.Model):
    """A named lock row for once-only jobs on databases without advisory locks (SQLite).

    See `orderstate.locks.single_instance`; a row older than its time-to-live is
    taken over, so a crashed holder does not block the job forever.
    """

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=200)
    acquired_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.name} held by {self.holder}"


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

    class Meta:
        ordering = ["placed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "order_id"], name="paper_unique_order_id")
        ]

    def __str__(self):
        return f"paper {self.side} {self.quantity} {self.symbol} #{self.order_id} ({self.status})"


# API tokens live in their own module; importing them here registers the model with the app.
from orderstate.tokens import ApiToken  # noqa: E402, F401
