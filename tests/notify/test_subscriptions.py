"""Subscriptions from the command line: bad targets refused before anything is stored,
secrets and bot tokens never printed back."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orderstate.models import Channel, Subscription
from orderstate.notify import subscriptions
from tests.notify.helpers import BOT_TOKEN, SECRET, webhook

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_webhook_stores_the_target_and_never_prints_the_secret():
    out, err = run(
        "add_webhook", "http://127.0.0.1:8080/hook", "--secret", SECRET,
        "--kinds", "fill,executed", "--account", "family",
    )  # fmt: skip

    subscription = Subscription.objects.get()
    assert (subscription.channel, subscription.url, subscription.secret) == (
        Channel.WEBHOOK,
        "http://127.0.0.1:8080/hook",
        SECRET,
    )
    assert (subscription.kinds, subscription.account) == (["fill", "executed"], "family")
    assert "fill,executed -> http://127.0.0.1:8080/hook (account family)" in out
    assert SECRET not in out + err


def test_add_webhook_without_a_secret_makes_one_and_shows_it_once():
    out, err = run("add_webhook", "https://localhost/hook", "--kinds", "all")

    subscription = Subscription.objects.get()
    assert len(subscription.secret) == 64
    assert out.splitlines()[-1] == subscription.secret
    assert "shown once" in err
    assert subscription.kinds == subscriptions.KIND_NAMES


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://127.0.0.1/hook", "must be http:// or https://, not ftp"),
        ("127.0.0.1/hook", "must be http:// or https://, not no scheme"),
        ("http:///hook", "names no host"),
        ("http://127.0.0.1:99999/hook", "not a well-formed URL"),
        ("http://nowhere.invalid/hook", "host nowhere.invalid does not resolve"),
        ("http://127.0.0.1/a hook", "without spaces"),
    ],
)
def test_add_webhook_refuses_a_url_that_cannot_work(url, complaint):
    with pytest.raises(CommandError, match=complaint):
        run("add_webhook", url, "--secret", SECRET, "--kinds", "fill")

    assert not Subscription.objects.exists()


def test_add_webhook_refuses_a_short_secret_and_unknown_kinds():
    with pytest.raises(CommandError, match="secret: must be 16 to 200 characters"):
        run("add_webhook", "http://127.0.0.1/", "--secret", "hunter2", "--kinds", "fill")
    with pytest.raises(CommandError, match="kinds: unknown fills, registered; name some of"):
        run("add_webhook", "http://127.0.0.1/", "--secret", SECRET, "--kinds", "fills,registered")

    assert not Subscription.objects.exists()


def test_add_telegram_stores_the_chat_and_never_prints_the_token():
    out, err = run(
        "add_telegram", "--bot-token", BOT_TOKEN, "--chat-id", "-1001234567890",
        "--kinds", "executed,rejected,sync_failed",
    )  # fmt: skip

    subscription = Subscription.objects.get()
    assert (subscription.bot_token, subscription.chat_id) == (BOT_TOKEN, "-1001234567890")
    assert "-> Telegram chat -1001234567890 (all accounts)" in out
    assert BOT_TOKEN not in out + err


@pytest.mark.parametrize(
    ("token", "chat", "complaint"),
    [
        ("not-a-token", "42", "bot_token: does not look like a bot token"),
        (BOT_TOKEN, "my chat", "chat_id: must be a numeric chat id"),
    ],
)
def test_add_telegram_refuses_a_malformed_token_or_chat(token, chat, complaint):
    with pytest.raises(CommandError, match=complaint) as raised:
        run("add_telegram", "--bot-token", token, "--chat-id", chat, "--kinds", "fill")

    assert token not in str(raised.value)
    assert not Subscription.objects.exists()


def test_list_subscriptions_shows_health_and_backlog_but_no_secret(manager):
    webhook("http://127.0.0.1:9/hook", kinds=["executed"], name="ops")
    run("add_telegram", "--bot-token", BOT_TOKEN, "--chat-id", "42", "--kinds", "executed")
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    manager.mark_order_executed("TCS", "B-1", "3900.00")

    out, _ = run("list_subscriptions")

    assert "ops  webhook  http://127.0.0.1:9/hook" in out
    assert "Telegram chat 42" in out
    assert out.count("1 waiting (oldest 0s)") == 2
    assert SECRET not in out and BOT_TOKEN not in out
