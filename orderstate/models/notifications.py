"""Notification subscriptions and the outbox: one row per event a subscription wants.

The outbox row is written in the transaction that writes its event, so a change
that rolls back notifies no one and a committed one is never forgotten;
`deliver_notifications` sends the rows afterwards (orderstate/notify).
"""

from django.conf import settings
from django.db import models
from django.db.models import Min, Q
from django.utils import timezone

from orderstate.models.events import EventKind, OrderEvent


class Channel(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    TELEGRAM = "telegram", "Telegram"


# The event kinds a subscription may want; the other kinds (registered, price
# updated, ...) are bookkeeping nobody is woken up for.
NOTIFIABLE_KINDS = (
    EventKind.FILL,
    EventKind.EXECUTED,
    EventKind.REJECTED,
    EventKind.CANCELLED,
    EventKind.LATE_FILL,
    EventKind.MANUAL_TRADE,
    EventKind.POSITION_MISMATCH,
    EventKind.SYNC_FAILED,
    EventKind.SYNC_STALE,
    EventKind.FEED_DOWN,
)


class Subscription(models.Model):
    """A target (a webhook URL and its signing secret, or a Telegram chat) and the kinds it wants.

    The secret and the bot token are write-only: no page, command or log shows
    them after creation. The delivery health fields are written by the deliverer.
    """

    name = models.CharField(max_length=100)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    url = models.CharField(max_length=500, blank=True)
    secret = models.CharField(max_length=200, blank=True)
    bot_token = models.CharField(max_length=200, blank=True)
    chat_id = models.CharField(max_length=64, blank=True)
    kinds = models.JSONField(default=list)
    account = models.CharField(max_length=64, blank=True, help_text="Blank: every account")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_until = models.DateTimeField(null=True, blank=True)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(channel=Channel.WEBHOOK) & ~Q(url="") & ~Q(secret="")
                    | Q(channel=Channel.TELEGRAM) & ~Q(bot_token="") & ~Q(chat_id="")
                ),
                name="subscription_target_complete",
            ),
        ]

    def __str__(self):
        return self.name

    def wants(self, kind, account):
        return kind in self.kinds and self.account in ("", account)

    @property
    def target(self):
        """Where messages go, without any secret: the URL, or the Telegram chat."""
        return self.url if self.channel == Channel.WEBHOOK else f"Telegram chat {self.chat_id}"


class Delivery(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead (gave up)"


class OutboxQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=Delivery.PENDING)

    def backlog(self):
        """Undelivered messages of active subscriptions: how many, and since when.

        One query; a paused subscription's messages count (they wait), an
        inactive one's do not (nobody will send them).
        """
        return (
            self.pending()
            .filter(subscription__active=True)
            .aggregate(count=models.Count("id"), oldest=Min("created_at"))
        )


class OutboxMessage(models.Model):
    """One event for one subscription, until it is delivered or given up (dead).

    `claimed_until`/`claimed_by` are a deliverer's lease: while it runs, no other
    deliverer sends the message; a deliverer that died lets the lease run out and
    the message is sent again (at least once).
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="messages"
    )
    event = models.ForeignKey(OrderEvent, on_delete=models.CASCADE, related_name="+")
    account = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="outbox_once_per_event"),
        ]
        indexes = [
            # The deliverer's claim: a subscription's pending rows that are due, oldest first.
            models.Index(
                fields=["subscription", "next_attempt_at", "id"],
                condition=Q(status=Delivery.PENDING),
                name="outbox_due",
            ),
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
        ]

    def __str__(self):
        return f"{self.event.kind} #{self.event_id} for {self.subscription}: {self.status}"
