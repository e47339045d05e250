"""Where each broker account's order feed stands, for the processes that do not run it.

`stream_orders` runs in its own process; the dashboard's header, `/metrics` and
`/healthz` run in the web workers. The stream writes this row at most every
ORDERSTATE_FEED_STATUS_SECONDS (and at once when it connects or loses the
connection), so they read the same state without asking the stream.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from orderstate.models.common import DEFAULT_ACCOUNT


class FeedStatus(models.Model):
    broker = models.CharField(max_length=64)
    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    running = models.BooleanField(
        default=False, help_text="A stream holds the feed (false once it stopped cleanly)"
    )
    connected = models.BooleanField(default=False)
    holder = models.CharField(max_length=200, blank=True, help_text="host:pid of the stream")
    started_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_frame_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(
        default=timezone.now, help_text="The stream's last word: older than a few seconds, gone"
    )
    reconnects = models.PositiveBigIntegerField(default=0)
    frames = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="Frames by outcome, ever"
    )
    last_error = models.TextField(blank=True, help_text="Why the last connection ended")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["broker", "account"], name="feed_status_unique"),
        ]

    def __str__(self):
        state = "connected" if self.connected else "not connected"
        return f"{self.broker} feed ({self.account}): {state}"
