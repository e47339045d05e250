"""Fixtures and helpers shared by the tests/test_api_*.py modules.

Imported with `from tests.api_support import *` so other areas' conftest stays untouched.
Clients authenticate with `force_authenticate`; `token` stands in for the auth area's
token object, which carries `account` and `read_only`.
"""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

__all__ = [
    "SELL",
    "anon",
    "api",
    "client_for",
    "reader",
    "reader_api",
    "register",
    "staff",
    "staff_api",
    "writer",
]

ORDERS = "/api/v1/orders/"
SELL = {
    "broker_order_id": "240101000001",
    "symbol": "RELIANCE-EQ",
    "side": "SELL",
    "quantity": 10,
    "price": "2500.00",
    "ticker": "RELIANCE.NS",
    "metadata": {"rsi10": 28.4, "ema9": 2410.5},
}


def _user(django_user_model, username, *perms, **flags):
    user = django_user_model.objects.create_user(username=username, **flags)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="orderstate", codename__in=perms)
    )
    return user


def client_for(user, *, account=None, read_only=False):
    client = APIClient()
    client.force_authenticate(user, token=SimpleNamespace(account=account, read_only=read_only))
    return client


@pytest.fixture
def writer(db, django_user_model):
    return _user(django_user_model, "bot", "view_order", "change_order")


@pytest.fixture
def reader(db, django_user_model):
    return _user(django_user_model, "viewer", "view_order")


@pytest.fixture
def staff(db, django_user_model):
    return _user(django_user_model, "operator", is_staff=True)


@pytest.fixture
def api(writer):
    return client_for(writer)


@pytest.fixture
def reader_api(reader):
    return client_for(reader)


@pytest.fixture
def staff_api(staff):
    return client_for(staff)


@pytest.fixture
def anon(db):
    return APIClient()


def register(client, **overrides):
    body = {**SELL, **overrides}
    return client.post(ORDERS, body, format="json")
