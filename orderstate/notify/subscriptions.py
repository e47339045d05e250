"""Subscriptions made and read: a target is checked before it is stored, and its secret
(a webhook's signing key, a Telegram bot token) is never shown again.

The commands and the admin create subscriptions here; the dashboard and
`list_subscriptions` read `overview()`.
"""

import re
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.db.models import Count, Min

from orderstate.errors import ValidationError
from orderstate.models import NOTIFIABLE_KINDS, Channel, Delivery, OutboxMessage, Subscription

KIND_NAMES = [str(kind) for kind in NOTIFIABLE_KINDS]
MIN_SECRET_LENGTH = 16
BOT_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
CHAT_ID = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,}")


def _refuse(field, message):
    raise ValidationError(f"{field}: {message}", fields={field: [message]})


def parse_kinds(value):
    """Kinds from 'fill,executed' (or a list); 'all' is every kind. Known names only."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    names = [str(item).strip().lower() for item in items if str(item).strip()]
    if names == ["all"]:
        return list(KIND_NAMES)
    unknown = sorted(set(names) - set(KIND_NAMES))
    if unknown or not names:
        wrong = f"unknown {', '.join(unknown)}; " if unknown else ""
        _refuse("kinds", f"{wrong}name some of {', '.join(KIND_NAMES)}, or all")
    return [kind for kind in KIND_NAMES if kind in names]


def check_url(url, *, resolve=True):
    """A webhook URL we can POST to: http(s), a host, and (with `resolve`) a host that resolves.

    A URL whose receiver is down or answers badly is accepted: that can only be
    known when sending, and is retried then.
    """
    text = (url or "").strip()
    if not text or len(text) > 500 or any(char.isspace() for char in text):
        _refuse("url", "give an http(s) URL of at most 500 characters, without spaces")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        _refuse("url", f"must be http:// or https://, not {parts.scheme or 'no scheme'}")
    try:
        port = parts.port
        httpx.URL(text)
    except (ValueError, httpx.InvalidURL):
        _refuse("url", "is not a well-formed URL (check the port)")
    if not parts.hostname:
        _refuse("url", "names no host")
    if resolve:
        try:
            socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            _refuse("url", f"host {parts.hostname} does not resolve")
    return text


def check_secret(secret):
    if len(secret or "") < MIN_SECRET_LENGTH or len(secret) > 200:
        _refuse("secret", f"must be {MIN_SECRET_LENGTH} to 200 characters")
    return secret


def check_bot_token(token):
    token = (token or "").strip()
    if not BOT_TOKEN.fullmatch(token):
        # Never echo the token: it may be a real one with a typo.
        _refuse("bot_token", "does not look like a bot token from @BotFather (digits:letters)")
    return token


def check_chat_id(chat_id):
    chat_id = str(chat_id or "").strip()
    if not CHAT_ID.fullmatch(chat_id):
        _refuse("chat_id", "must be a numeric chat id (e.g. -1001234567890) or @channelname")
    return chat_id


def new_secret():
    return secrets.token_hex(32)


def add_webhook(url, secret, kinds, *, account="", name="", created_by=None, resolve=True):
    url = check_url(url, resolve=resolve)
    return Subscription.objects.create(
        name=(name or f"webhook {urlsplit(url).hostname}")[:100],
        channel=Channel.WEBHOOK,
        url=url,
        secret=check_secret(secret),
        kinds=parse_kinds(kinds),
        account=account or "",
        created_by=created_by,
    )


def add_telegram(bot_token, chat_id, kinds, *, account="", name="", created_by=None):
    chat_id = check_chat_id(chat_id)
    return Subscription.objects.create(
        name=(name or f"Telegram {chat_id}")[:100],
        channel=Channel.TELEGRAM,
        bot_token=check_bot_token(bot_token),
        chat_id=chat_id,
        kinds=parse_kinds(kinds),
        account=account or "",
        created_by=created_by,
    )


@dataclass(frozen=True)
class SubscriptionStatus:
    subscription: Subscription
    pending: int
    dead: int
    oldest_pending: object  # created_at of the oldest undelivered message, or None


def overview():
    """Every subscription with its undelivered and dead counts; two queries."""
    figures = {}
    rows = (
        OutboxMessage.objects.filter(status__in=[Delivery.PENDING, Delivery.DEAD])
        .values_list("subscription_id", "status")
        .annotate(count=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    for subscription_id, status, count, oldest in rows:
        figures[(subscription_id, status)] = (count, oldest)
    return [
        SubscriptionStatus(
            subscription,
            figures.get((subscription.pk, Delivery.PENDING), (0, None))[0],
            figures.get((subscription.pk, Delivery.DEAD), (0, None))[0],
            figures.get((subscription.pk, Delivery.PENDING), (0, None))[1],
        )
        for subscription in Subscription.objects.all()
    ]


def dead_letters(limit=20):
    """The latest messages given up, newest first."""
    return list(
        OutboxMessage.objects.filter(status=Delivery.DEAD)
        .select_related("subscription", "event__order")
        .order_by("-id")[:limit]
    )
