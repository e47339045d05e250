"""An oversold position shows red on the dashboard and degrades /healthz once it has
outlived a sync, not while the sync that brings its buy may still be on its way."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import SyncOutcome
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def oversold(manager):
    manager.register_buy_order("TCS", "B-1", "3900.00", 10)
    manager.mark_order_executed("TCS", "B-1", "3900.00")
    manager.register_sell_order("TCS", "S-1", "4000.00", 12)
    manager.mark_order_executed("TCS", "S-1", "4000.00")


def sync_finished(after):
    SyncRunFactory(outcome=SyncOutcome.OK, started_at=timezone.now() + after)


def test_oversold_before_any_later_sync_is_not_yet_degraded(client, oversold):
    sync_finished(after=timedelta(minutes=-5))

    body = client.get("/healthz").json()

    assert (body["status"], body["oversold"]) == ("ok", {"count": 0, "symbols": []})


def test_oversold_that_outlived_a_sync_degrades_healthz(client, oversold):
    sync_finished(after=timedelta(seconds=1))

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["oversold"]) == (
        "degraded",
        {"count": 1, "symbols": ["TCS (default)"]},
    )


def test_oversold_that_outlived_a_sync_shows_red_on_the_overview(viewer_client, oversold):
    sync_finished(after=timedelta(seconds=1))

    page = viewer_client.get("/").content.decode()

    assert "Oversold positions" in page
    assert "<strong>TCS</strong> oversold by 2" in page
