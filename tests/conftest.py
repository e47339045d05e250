"""Shared fixtures, one name per role across the suite.

Users (made by tests/factories.py's UserFactory; password `factories.PASSWORD`):

    viewer       may look, never act: `view_order` only, not staff
    trader       may look and act on orders: `view_order` + `change_order`, not staff
    staff_user   staff (Asha Rao), no explicit permissions
    superuser    every permission

The same roles as clients: `viewer_api`, `trader_api`, `staff_api` and
`anonymous_api` for the API; `viewer_client`, `trader_client`, `staff_client` and
`superuser_client` for the pages (dashboard and admin). tests/clients.py makes a
client with other options (a scoped or read-only token, CSRF checks).

State goes in through the manager, as in production: `manager`, `importer`, and
orders in common states (`open_position`, `sell_order`, `tcs_sell_order`,
`executed_buy`, `closed_trade`).
"""

import pytest
from rest_framework.test import APIClient

from orderstate.manager import OrderStateManager
from tests.clients import api_client_for, logged_in_client
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Serve static sources (production uses collectstatic's manifest) and hash fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _no_throttling_in_bursts(monkeypatch):
    """Tests fire bursts no real client would; throttling has its own tests
    (tests/api/test_throttling.py).

    Each test starts with no requests counted (DRF counts in Django's cache) and
    with budgets no test loop reaches.
    """
    from django.core.cache import cache

    from orderstate.api import throttling

    cache.clear()
    generous = {"token": "100000/s", "user": "100000/s", "anon": "100000/s"}
    for throttle in (
        throttling.TokenRateThrottle,
        throttling.SessionUserRateThrottle,
        throttling.AnonymousRateThrottle,
    ):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", generous)


# Users ---------------------------------------------------------------------------


@pytest.fixture
def viewer(db):
    """May look, never act: `orderstate.view_order` only, not staff (username "viewer").

    Reads the API and gets 403 on its writes; sees every dashboard page (any logged-in
    user may) without action buttons; is sent away from the admin.
    """
    return UserFactory(username="viewer", first_name="Tara", permissions=["view_order"])


@pytest.fixture
def trader(db):
    """May look and act on orders, not staff (username "trader"): `view_order` and
    `change_order`, as `create_api_token` makes the bot's user.

    Writes through the API and acts on the dashboard (change_order); may not run a
    sync through the API (staff only) nor open the admin.
    """
    return UserFactory(
        username="trader", first_name="Omar", permissions=["view_order", "change_order"]
    )


@pytest.fixture
def staff_user(db):
    """Staff, with no explicit permissions: Asha Rao (username "asha").

    Acts everywhere a trader may, runs syncs (API and dashboard), opens /metrics with
    a session.
    """
    return UserFactory(username="asha", first_name="Asha", last_name="Rao", is_staff=True)


@pytest.fixture
def superuser(db):
    """Every permission, staff too (username "root"): the admin's user."""
    return UserFactory(username="root", email="root@example.com", is_staff=True, is_superuser=True)


# API clients ---------------------------------------------------------------------


@pytest.fixture
def anonymous_api(db):
    """An API client with no credentials."""
    return APIClient()


@pytest.fixture
def viewer_api(viewer):
    return api_client_for(viewer)


@pytest.fixture
def trader_api(trader):
    return api_client_for(trader)


@pytest.fixture
def staff_api(staff_user):
    return api_client_for(staff_user)


# Page clients (dashboard and admin), logged in -----------------------------------


@pytest.fixture
def viewer_client(viewer):
    return logged_in_client(viewer)


@pytest.fixture
def trader_client(trader):
    return logged_in_client(trader)


@pytest.fixture
def staff_client(staff_user):
    return logged_in_client(staff_user)


@pytest.fixture
def superuser_client(superuser):
    return logged_in_client(superuser)


# The manager and orders in common states -----------------------------------------


@pytest.fixture
def manager(db):
    """The one door, as the API's views call it for the bot (events say source "api")."""
    return OrderStateManager(source="api")


@pytest.fixture
def importer(db):
    """The manager as the legacy import calls it (source "import")."""
    return OrderStateManager(source="import")


@pytest.fixture
def open_position(manager):
    """10 RELIANCE bought at 2400.00 (B-1): an open trade, as the buyer leaves it."""
    manager.register_buy_order("RELIANCE-EQ", "B-1", "2400.00", 10, "RELIANCE.NS")
    return manager.mark_order_executed("RELIANCE", "B-1", "2400.00")


@pytest.fixture
def sell_order(manager, open_position):
    """The sell engine's target order for that position: S-1, 10 at 2500."""
    return manager.register_sell_order("RELIANCE-EQ", "S-1", 2500.0, 10, ticker="RELIANCE.NS")


@pytest.fixture
def tcs_sell_order(manager):
    """A pending SELL of 5 TCS at 4050.00 (S-100), with no position behind it."""
    return manager.register_sell_order("TCS-EQ", "S-100", "4050.00", 5, ticker="TCS.NS", rsi10=28.5)


@pytest.fixture
def executed_buy(manager):
    """12 INFY bought at 1510.25 (B-200): executed, with its open trade."""
    manager.register_buy_order("INFY-EQ", "B-200", "1510.25", 12, ticker="INFY.NS")
    return manager.mark_order_executed("INFY", "B-200", "1510.25")


@pytest.fixture
def closed_trade(manager):
    """A position bought at 1,000 and sold at 1,234.50: realised P&L ₹2,345.00."""
    manager.register_buy_order("WIPRO-EQ", "B-300", "1000.00", 10)
    manager.mark_order_executed("WIPRO", "B-300", "1000.00")
    manager.register_sell_order("WIPRO-EQ", "S-300", "1234.50", 10)
    order = manager.mark_order_executed("WIPRO", "S-300", "1234.50")
    return order.trade
