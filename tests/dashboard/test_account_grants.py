"""A user granted one account sees only it on every page, and acts only on it."""

from datetime import timedelta

import pytest

from orderstate.manager import OrderStateManager
from orderstate.models import AccountGrant, FailedOrder, Order
from tests.clients import logged_in_client
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_accounts(db):
    """The same kinds of rows in "default" and in "family", told apart by symbol:
    default trades TCS and queues SBIN, family trades INFY and queues ITC."""
    for account, bought, queued, order_id in (
        ("default", "TCS", "SBIN", "D"),
        ("family", "INFY", "ITC", "F"),
    ):
        manager = OrderStateManager(source="api", account=account)
        manager.register_buy_order(f"{bought}-EQ", f"B-{order_id}", "1000.00", 4)
        manager.mark_order_executed(bought, f"B-{order_id}", "1000.00")
        manager.register_sell_order(f"{bought}-EQ", f"S-{order_id}", "1100.00", 4)
        manager.add_failed_order(queued, qty=2, close="500.00", reason="insufficient funds")
        SyncRunFactory(account=account, error=f"run of {account}", age=timedelta(seconds=5))


@pytest.fixture
def family_viewer(trader):
    AccountGrant.objects.create(user=trader, account="family")
    return logged_in_client(trader)


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_overview_counts_only_the_granted_account(family_viewer, two_accounts):
    html = page(family_viewer, "/")

    assert "INFY" in html  # the latest events
    assert "TCS" not in html
    assert 'side=SELL">1</a>' in html  # one active sell, not two


@pytest.mark.parametrize("tab", ["active", "all", "executed"])
def test_orders_list_only_the_granted_account(family_viewer, two_accounts, tab):
    html = page(family_viewer, f"/orders/?tab={tab}")

    assert "INFY" in html
    assert "TCS" not in html


def test_order_of_another_account_is_404(family_viewer, two_accounts):
    assert family_viewer.get("/orders/S-F/").status_code == 200
    assert family_viewer.get("/orders/S-D/").status_code == 404
    assert family_viewer.get("/orders/S-D/?account=default").status_code == 404


def test_failed_buys_list_only_the_granted_account(family_viewer, two_accounts):
    html = page(family_viewer, "/failed/?show=all")

    assert "ITC" in html
    assert "SBIN" not in html


def test_trades_list_only_the_granted_account(family_viewer, two_accounts):
    html = page(family_viewer, "/trades/?show=all")

    assert "INFY" in html
    assert "TCS" not in html


def test_sync_runs_list_only_the_granted_account(family_viewer, two_accounts):
    html = page(family_viewer, "/sync/")

    assert "run of family" in html
    assert "run of default" not in html


def test_actions_on_another_accounts_rows_are_404(family_viewer, two_accounts):
    other_entry = FailedOrder.objects.get(account="default")

    assert family_viewer.post("/orders/S-D/cancel/").status_code == 404
    assert family_viewer.post(f"/failed/{other_entry.pk}/drop/").status_code == 404
    assert Order.objects.get(broker_order_id="S-D").is_active
    assert FailedOrder.objects.get(pk=other_entry.pk).status == "WAITING"


@pytest.mark.parametrize("url", ["/", "/orders/", "/orders/S-D/", "/failed/", "/sync/run/"])
def test_logged_in_pages_are_never_stored(staff_client, two_accounts, url):
    response = staff_client.get(url)

    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    assert "no-store" in response["Cache-Control"]
