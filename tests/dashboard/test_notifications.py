"""The Notifications page: each subscription's health, the backlog, dead letters, and a
staff-only "send test" (POST with CSRF) that queues a test through the outbox."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import Delivery, EventKind, OutboxMessage
from tests.clients import logged_in_client
from tests.notify.helpers import BOT_TOKEN, SECRET, telegram, webhook

pytestmark = pytest.mark.django_db

PAGE = "/notifications/"


@pytest.fixture
def hook():
    return webhook("http://127.0.0.1:9/hook", kinds=["executed"], name="ops hook")


def executed(manager, order_id):
    manager.register_buy_order("TCS-EQ", order_id, "3900.00", 10)
    manager.mark_order_executed("TCS", order_id, "3900.00")


def test_the_page_shows_health_backlog_and_dead_letters_but_no_secret(viewer_client, manager, hook):
    chat = telegram(kinds=["executed"], name="phone")
    hook.consecutive_failures, hook.last_error = 3, "HTTP 502: bad gateway"
    hook.save()
    chat.last_delivered_at = timezone.now()
    chat.save()
    executed(manager, "B-1")
    executed(manager, "B-2")
    given_up = OutboxMessage.objects.filter(subscription=hook).order_by("id").first()
    OutboxMessage.objects.filter(pk=given_up.pk).update(
        status=Delivery.DEAD, attempts=9, last_error="HTTP 502: bad gateway"
    )

    body = viewer_client.get(PAGE).content.decode()

    assert "ops hook" in body and "phone" in body
    assert "3 in a row</span>: HTTP 502: bad gateway" in body
    assert "<strong>3</strong> waiting to be delivered" in body
    assert "executed #" in body and ">9<" in body  # the dead letter and its attempts
    assert "Telegram chat -1001234567890" in body
    assert SECRET not in body and BOT_TOKEN not in body
    assert "Send test" not in body  # a viewer may look, not act


def test_a_late_backlog_shows_red(viewer_client, manager, hook, settings):
    settings.ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS = 600
    executed(manager, "B-1")
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(minutes=11))

    body = viewer_client.get(PAGE).content.decode()

    assert 'class="card sync stale"' in body and "<strong>Late:</strong>" in body


def test_the_page_is_in_the_menu(viewer_client):
    assert 'href="/notifications/"' in viewer_client.get("/").content.decode()


@pytest.mark.parametrize("who", ["viewer_client", "trader_client"])
def test_only_staff_may_send_a_test(request, who, hook):
    client = request.getfixturevalue(who)

    assert client.get(f"/notifications/{hook.pk}/test/").status_code == 403
    assert client.post(f"/notifications/{hook.pk}/test/").status_code == 403
    assert not OutboxMessage.objects.exists()


def test_send_test_asks_first_then_queues_a_test_for_that_subscription(staff_user, hook):
    client = logged_in_client(staff_user, enforce_csrf_checks=True)
    page = client.get(f"/notifications/{hook.pk}/test/")
    assert "Send a test to ops hook" in page.content.decode()
    assert client.post(f"/notifications/{hook.pk}/test/").status_code == 403  # no CSRF token
    assert not OutboxMessage.objects.exists()

    response = client.post(
        f"/notifications/{hook.pk}/test/",
        {"csrfmiddlewaretoken": str(page.context["csrf_token"])},
        follow=True,
    )

    message = OutboxMessage.objects.get()
    assert (message.subscription, message.event.kind) == (hook, EventKind.NOTIFICATION_TEST)
    assert (message.event.source, message.event.actor) == ("dashboard", staff_user)
    assert "Test queued for ops hook." in response.content.decode()


def test_a_test_for_a_switched_off_subscription_is_refused_with_a_message(staff_client, hook):
    hook.active = False
    hook.save()

    response = staff_client.post(f"/notifications/{hook.pk}/test/", follow=True)

    assert "No test sent: subscription &#x27;ops hook&#x27; is not active" in (
        response.content.decode()
    )
    assert not OutboxMessage.objects.exists()
