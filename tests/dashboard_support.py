"""Fixtures for the dashboard and admin tests (a plugin of tests/conftest.py)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from orderstate.manager import OrderStateManager
from orderstate.models import SyncOutcome, SyncRun


@pytest.fixture
def looker(db):
    """A logged-in user who may look but not act."""
    return User.objects.create_user("looker", password="looker-pass-1", first_name="Tara")


@pytest.fixture
def staff(db):
    return User.objects.create_user(
        "asha", password="staff-pass-1", is_staff=True, first_name="Asha", last_name="Rao"
    )


@pytest.fixture
def operator(db):
    """Not staff, but holds orderstate.change_order: may act on the dashboard."""
    user = User.objects.create_user("ops", password="ops-pass-1", first_name="Omar")
    user.user_permissions.add(Permission.objects.get(codename="change_order"))
    return user


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@example.com", "root-pass-1")


def client_for(user, **options):
    client = Client(**options)
    client.force_login(user)
    return client


@pytest.fixture
def trader_client(looker):
    return client_for(looker)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)


@pytest.fixture
def bot(db):
    return OrderStateManager(source="bot")


@pytest.fixture
def tcs_sell_order(bot):
    return bot.register_sell_order("TCS-EQ", "S-100", "4050.00", 5, ticker="TCS.NS", rsi10=28.5)


@pytest.fixture
def executed_buy(bot):
    bot.register_buy_order("INFY-EQ", "B-200", "1510.25", 12, ticker="INFY.NS")
    return bot.mark_order_executed("INFY", "B-200", "1510.25")


@pytest.fixture
def closed_trade(bot):
    """A position bought at 1,000 and sold at 1,234.50: realised P&L ₹2,345.00."""
    bot.register_buy_order("WIPRO-EQ", "B-300", "1000.00", 10)
    bot.mark_order_executed("WIPRO", "B-300", "1000.00")
    bot.register_sell_order("WIPRO-EQ", "S-300", "1234.50", 10)
    order = bot.mark_order_executed("WIPRO", "S-300", "1234.50")
    return order.trade


@pytest.fixture
def sync_run(db):
    """Record a finished sync run `age` ago, as the sync would have."""

    def record(outcome=SyncOutcome.OK, age=timedelta(seconds=30), **fields):
        finished = timezone.now() - age
        return SyncRun.objects.create(
            broker="paper",
            started_at=finished - timedelta(seconds=2),
            finished_at=finished,
            outcome=outcome,
            **fields,
        )

    return record
