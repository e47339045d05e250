"""Shared fixtures: a manager, users of each kind, and orders in common states."""

import pytest
from django.contrib.auth.models import Permission

from orderstate.manager import OrderStateManager

pytest_plugins = ["tests.dashboard_support"]


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Serve static sources (production uses collectstatic's manifest) and hash fast."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def manager(db):
    return OrderStateManager(source="api")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("staff", password="staff-pass", is_staff=True)


@pytest.fixture
def trader(django_user_model):
    """A logged-in user who may look and change orders but is not staff."""
    user = django_user_model.objects.create_user("trader", password="trader-pass")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "change_order"])
    )
    return user


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer", password="viewer-pass")
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    return user


@pytest.fixture
def open_position(manager):
    """10 RELIANCE bought at 2400.00: an open trade, as the buyer leaves it."""
    manager.register_buy_order("RELIANCE-EQ", "B-1", "2400.00", 10, "RELIANCE.NS")
    return manager.mark_order_executed("RELIANCE", "B-1", "2400.00")


@pytest.fixture
def sell_order(manager, open_position):
    """The sell engine's target order for that position."""
    return manager.register_sell_order("RELIANCE-EQ", "S-1", 2500.0, 10, ticker="RELIANCE.NS")


@pytest.fixture(autouse=True)
def _no_throttling_in_bursts(monkeypatch):
    """Tests fire bursts no real client would; throttling has its own tests (test_throttling.py).

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
