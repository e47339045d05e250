"""Broker sync runs, and the lock row that keeps once-only jobs single."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from orderstate.models.common import DEFAULT_ACCOUNT, ReadableJSONField


class SyncOutcome(models.TextChoices):
    REQUESTED = "requested", "Requested"
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class SyncRun(models.Model):
    """One reconciliation, or a request for one ("Sync now") that the running
    `sync_broker --loop` picks up: it runs into the same row."""

    broker = models.CharField(max_length=16)
    # The account whose orders the run reconciled: who may see the run (and its plan).
    account = models.CharField(max_length=64, default=DEFAULT_ACCOUNT)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, choices=SyncOutcome.choices, default=SyncOutcome.RUNNING
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    request_source = models.CharField(max_length=10, blank=True)
    dry_run = models.BooleanField(default=False)
    stats = ReadableJSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["outcome", "started_at"], name="sync_outcome_started"),
            models.Index(fields=["account", "started_at"], name="sync_account_started"),
        ]

    def __str__(self):
        return f"{self.broker} sync at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


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
