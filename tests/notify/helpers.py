"""Subscriptions and one delivery pass, for the notification tests (plain functions)."""

from orderstate.models import Channel, Subscription
from orderstate.notify.deliverer import Deliverer

SECRET = "webhook-test-secret-0123456789"
BOT_TOKEN = "123456789:AAE-test-token_abcdefghijklmnopqrs"


def webhook(url, kinds=("fill", "executed"), **fields):
    """A webhook subscription stored as add_webhook stores one (no DNS lookup)."""
    return Subscription.objects.create(
        name=fields.pop("name", f"hook {url}"),
        channel=Channel.WEBHOOK,
        url=url,
        secret=fields.pop("secret", SECRET),
        kinds=list(kinds),
        **fields,
    )


def telegram(kinds=("executed",), **fields):
    return Subscription.objects.create(
        name=fields.pop("name", "phone"),
        channel=Channel.TELEGRAM,
        bot_token=fields.pop("bot_token", BOT_TOKEN),
        chat_id=fields.pop("chat_id", "-1001234567890"),
        kinds=list(kinds),
        **fields,
    )


def deliver(**options):
    """One pass of a fresh deliverer (options as `Deliverer`); its counts."""
    deliverer = Deliverer(**options)
    try:
        return deliverer.deliver_due()
    finally:
        deliverer.close()


def executed_sell(manager):
    """RELIANCE bought 10 @ 2,400.00 and sold 10 @ 2,500.00: a ₹1,000.00 profit."""
    manager.register_buy_order("RELIANCE-EQ", "B-1", "2400.00", 10)
    manager.mark_order_executed("RELIANCE", "B-1", "2400.00")
    manager.register_sell_order("RELIANCE-EQ", "S-1", "2500.00", 10)
    return manager.mark_order_executed("RELIANCE", "S-1", "2500.00")
