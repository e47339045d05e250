"""The outbox on /metrics (backlog, oldest undelivered age, dead) and on /healthz (degraded
once a notification has waited longer than ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import Delivery, OutboxMessage
from tests.notify.helpers import webhook

pytestmark = pytest.mark.django_db


def sample(text, name):
    """The value of a sample without labels, from Prometheus text."""
    lines = [line for line in text.splitlines() if line.split(" ")[0] == name]
    assert len(lines) == 1, f"{name} appears {len(lines)} times"
    return float(lines[0].split(" ")[1])


@pytest.fixture
def waiting(manager):
    """Two notifications waiting, the oldest for 20 minutes; one given up; one switched off."""
    webhook("http://127.0.0.1:9/", kinds=["fill"])
    webhook("http://127.0.0.1:9/off", kinds=["fill"], active=False)
    manager.register_buy_order("TCS-EQ", "B-1", "3900.00", 10)
    for index in range(3):
        manager.record_fill("B-1", 1, "3900.00", fill_id=f"f{index}")
    first, _, third = OutboxMessage.objects.filter(subscription__active=True).order_by("id")
    OutboxMessage.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(minutes=20)
    )
    OutboxMessage.objects.filter(pk=third.pk).update(status=Delivery.DEAD)


def test_metrics_show_the_backlog_and_the_oldest_undelivered_age(staff_client, waiting):
    text = staff_client.get("/metrics").content.decode()

    assert sample(text, "orderstate_notify_backlog") == 2
    assert 20 * 60 <= sample(text, "orderstate_notify_oldest_undelivered_age_seconds") < 21 * 60
    assert sample(text, "orderstate_notify_dead") == 1
    assert "# TYPE orderstate_notify_backlog gauge" in text


def test_metrics_with_nothing_waiting_show_zero(staff_client):
    text = staff_client.get("/metrics").content.decode()

    assert sample(text, "orderstate_notify_backlog") == 0
    assert sample(text, "orderstate_notify_oldest_undelivered_age_seconds") == 0


def test_healthz_degrades_once_a_notification_waits_past_the_threshold(client, waiting, settings):
    settings.ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS = 1800
    calm = client.get("/healthz").json()
    assert (calm["status"], calm["notify_backlog"]["count"]) == ("ok", 0)

    settings.ORDERSTATE_NOTIFY_BACKLOG_ALERT_SECONDS = 600
    body = client.get("/healthz").json()

    assert body["status"] == "degraded"
    assert body["notify_backlog"]["count"] == 1
    assert 1200 <= body["notify_backlog"]["oldest_age_seconds"] < 1260
