"""Subscriptions in the admin: targets checked, the secret and the bot token write-only."""

import pytest

from orderstate.models import Channel, EventKind, OutboxMessage, Subscription
from tests.notify.helpers import BOT_TOKEN, SECRET, telegram, webhook

pytestmark = pytest.mark.django_db

ADD = "/admin/orderstate/subscription/add/"


def form(**fields):
    return {"name": "ops", "kinds": ["fill", "executed"], "account": "", "active": "on", **fields}


def test_a_webhook_added_in_the_admin_keeps_its_secret_and_creator(superuser_client, superuser):
    response = superuser_client.post(
        ADD, form(channel="webhook", url="http://127.0.0.1:8080/hook", new_secret=SECRET)
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    subscription = Subscription.objects.get()
    assert (subscription.secret, subscription.created_by) == (SECRET, superuser)
    assert subscription.kinds == ["fill", "executed"]


def test_the_admin_refuses_what_the_commands_refuse(superuser_client):
    response = superuser_client.post(
        ADD, form(channel="webhook", url="ftp://127.0.0.1/hook", new_secret="short")
    )

    errors = response.context["adminform"].form.errors
    assert "must be http:// or https://, not ftp" in errors["url"][0]
    assert not Subscription.objects.exists()
    response = superuser_client.post(ADD, form(channel="telegram", chat_id="42", new_bot_token="x"))
    assert (
        "does not look like a bot token"
        in response.context["adminform"].form.errors["new_bot_token"][0]
    )


def test_the_change_page_never_shows_the_secret_or_the_token(superuser_client):
    hook = webhook("http://127.0.0.1:9/hook")
    chat = telegram()

    for subscription in (hook, chat):
        page = superuser_client.get(f"/admin/orderstate/subscription/{subscription.pk}/change/")
        body = page.content.decode()
        assert page.status_code == 200
        assert SECRET not in body and BOT_TOKEN not in body
    listing = superuser_client.get("/admin/orderstate/subscription/").content.decode()
    assert SECRET not in listing and BOT_TOKEN not in listing


def test_a_blank_secret_keeps_the_old_one_and_a_new_one_replaces_it(superuser_client):
    hook = webhook("http://127.0.0.1:9/hook")
    change = f"/admin/orderstate/subscription/{hook.pk}/change/"

    superuser_client.post(change, form(url="http://127.0.0.1:9/hook", new_secret=""))
    hook.refresh_from_db()
    assert hook.secret == SECRET and hook.name == "ops"

    superuser_client.post(change, form(url="http://127.0.0.1:9/hook", new_secret="n" * 32))
    hook.refresh_from_db()
    assert hook.secret == "n" * 32 and hook.channel == Channel.WEBHOOK


def test_the_send_test_action_queues_a_test_for_each_selected(superuser_client):
    hook = webhook("http://127.0.0.1:9/hook")

    superuser_client.post(
        "/admin/orderstate/subscription/",
        {"action": "send_test", "_selected_action": [hook.pk]},
    )

    message = OutboxMessage.objects.get()
    assert (message.subscription, message.event.kind) == (hook, EventKind.NOTIFICATION_TEST)
    assert message.event.source == "admin"


def test_dead_messages_can_be_tried_once_more(superuser_client, manager):
    webhook("http://127.0.0.1:9/hook", kinds=["executed"])
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    manager.mark_order_executed("TCS", "B-1", "3900.00")
    OutboxMessage.objects.update(status="dead")
    listing = superuser_client.get("/admin/orderstate/outboxmessage/?status__exact=dead")
    assert f"executed #{OutboxMessage.objects.get().event_id}" in listing.content.decode()

    superuser_client.post(
        "/admin/orderstate/outboxmessage/",
        {"action": "try_again", "_selected_action": [OutboxMessage.objects.get().pk]},
    )

    assert OutboxMessage.objects.get().status == "pending"
