"""API tokens for the bot (hashed, expiring, revocable, scoped), and users' account grants.

A raw key is `<prefix>.<secret>`. The prefix (not secret) finds the row with one
indexed lookup; the hash of the whole key is compared in constant time. The raw
key is shown once when the token is made and is never stored, so a copy of the
database does not hand out working credentials. The secret carries 256 random
bits, so a fast hash is enough: there is nothing to guess that a slow one
(PBKDF2, bcrypt) would protect, and it keeps authentication to one query.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

PREFIX_BYTES = 4
SECRET_BYTES = 32
SEPARATOR = "."
# Stamping last_used_at on every request would add a write to each read; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def split_key(key):
    """The prefix of a well-formed raw key, or None."""
    prefix, sep, secret = key.partition(SEPARATOR)
    if not sep or len(prefix) != PREFIX_BYTES * 2 or not secret:
        return None
    return prefix


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """One credential of one user; `account` and `read_only` narrow what it may do."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=PREFIX_BYTES * 2, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    account = models.CharField(  # noqa: DJ001  (NULL means every account, "" is not an account)
        max_length=64, null=True, blank=True, help_text="Only this account's orders; empty: all"
    )
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(account=""), name="apitoken_account_not_blank"
            ),
        ]

    def __str__(self):
        return f"{self.prefix}… ({self.user}, {self.state})"

    @classmethod
    def issue(cls, user, *, name="", account=None, read_only=False, expires_in=None):
        """Create a token; returns (token, raw_key). The raw key exists only in this return."""
        now = timezone.now()
        for _ in range(5):
            prefix = secrets.token_hex(PREFIX_BYTES)
            key = f"{prefix}{SEPARATOR}{secrets.token_urlsafe(SECRET_BYTES)}"
            try:
                with transaction.atomic():
                    token = cls.objects.create(
                        user=user,
                        name=name,
                        prefix=prefix,
                        key_hash=hash_key(key),
                        account=account or None,
                        read_only=read_only,
                        created_at=now,
                        expires_at=now + expires_in if expires_in else None,
                    )
            except IntegrityError:
                continue  # the random prefix was taken; draw another
            return token, key
        raise RuntimeError("could not draw an unused token prefix")

    @classmethod
    def find(cls, key, *, by_prefix=None):
        """The token whose key this is, usable or not; None when no token has this key.

        `by_prefix(prefix)` may stand in for the lookup (the API's precompiled one).
        """
        prefix = split_key(key)
        if prefix is None:
            return None
        # The prefix is unique, so no ORDER BY (which `.first()` would add).
        rows = (by_prefix or cls.lookup_by_prefix)(prefix)
        token = next(iter(rows), None)
        # The prefix is not secret; the comparison of the secret part must not leak timing.
        if token is None or not hmac.compare_digest(token.key_hash, hash_key(key)):
            return None
        return token

    @classmethod
    def lookup_by_prefix(cls, prefix):
        return cls.objects.select_related("user").filter(prefix=prefix)[:1]

    @property
    def state(self):
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_usable(self):
        return self.state == "active"

    def revoke(self, now=None):
        """Revoke for good; False when it was already revoked."""
        now = now or timezone.now()
        updated = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if updated:
            self.revoked_at = now
        return bool(updated)

    def touch(self, now=None):
        """Record use, at most once per LAST_USED_RESOLUTION (a conditional UPDATE, no lock)."""
        now = now or timezone.now()
        stale = now - LAST_USED_RESOLUTION
        if self.last_used_at is not None and self.last_used_at > stale:
            return
        ApiToken.objects.filter(pk=self.pk).filter(
            models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lte=stale)
        ).update(last_used_at=now)
        self.last_used_at = now


class AccountGrant(models.Model):
    """One account a user may see and act on, on the dashboard and the API alike.

    A user without grants sees every account; a user with grants only those
    (as an API token scoped to one account). Superusers are never narrowed.
    Granted and withdrawn in the admin, which logs who changed whose access.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_grants"
    )
    account = models.CharField(max_length=64)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "account"]
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="account_grant_once"),
            models.CheckConstraint(
                condition=~models.Q(account=""), name="account_grant_account_not_blank"
            ),
        ]

    def __str__(self):
        return f"{self.user} may see account {self.account}"
