"""factory_boy factories: users, and rows a test deliberately writes straight to a table.

Orders, trades and failed orders change state through `OrderStateManager`, the one
door, and tests should put them into a state the same way (the fixtures in
conftest.py do). These factories are for what the manager would never write: rows
that break an invariant (the constraint tests), and rows in bulk or of a given
shape for pages to show (sync runs of any age and outcome).
"""

import re
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Permission
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from orderstate.models import (
    FailedOrder,
    Order,
    Side,
    SyncOutcome,
    SyncRun,
    Trade,
)

# Every user the factory makes can log in with this password.
PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    """A user with no permissions unless `permissions=[codenames]` names orderstate's."""

    class Meta:
        model = "auth.User"
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = Password(PASSWORD)

    @factory.post_generation
    def permissions(user, create, codenames, **kwargs):
        """`UserFactory(permissions=["view_order", "change_order"])`: grants orderstate's
        permissions by codename; a codename that does not exist is an error, not a
        quietly weaker user."""
        if not codenames:
            return
        granted = list(
            Permission.objects.filter(content_type__app_label="orderstate", codename__in=codenames)
        )
        unknown = set(codenames) - {permission.codename for permission in granted}
        if unknown:
            raise ValueError(f"no orderstate permission called {sorted(unknown)}")
        if create:
            user.user_permissions.add(*granted)


def _base_symbol(symbol):
    return re.sub(r"-(EQ|BE)$", "", symbol)


class OrderFactory(DjangoModelFactory):
    """An order row as the table holds it, written without the manager: a pending
    LIMIT SELL of 10 at 100.00, each with its own id and symbol."""

    class Meta:
        model = Order

    broker_order_id = factory.Sequence(lambda n: f"X{n}")
    symbol = factory.Sequence(lambda n: f"SYM{n}-EQ")
    base_symbol = factory.LazyAttribute(lambda order: _base_symbol(order.symbol))
    side = Side.SELL
    quantity = 10
    price = Decimal("100.00")


class TradeFactory(DjangoModelFactory):
    """An open position of 10 at 100.0000, written without the manager."""

    class Meta:
        model = Trade

    symbol = factory.Sequence(lambda n: f"SYM{n}")
    quantity = 10
    entry_price = Decimal("100.0000")


class FailedOrderFactory(DjangoModelFactory):
    """A waiting failed buy of 1, written without the manager."""

    class Meta:
        model = FailedOrder

    symbol = factory.Sequence(lambda n: f"SYM{n}")
    quantity = 1


class SyncRunFactory(DjangoModelFactory):
    """A finished sync run, as the sync records one: `age` ago (30 s by default), 2 s long.

    `SyncRunFactory(outcome=SyncOutcome.FAILED, error="...", age=timedelta(minutes=20))`.
    """

    class Meta:
        model = SyncRun

    class Params:
        age = timedelta(seconds=30)

    broker = "paper"
    outcome = SyncOutcome.OK
    finished_at = factory.LazyAttribute(lambda run: timezone.now() - run.age)
    started_at = factory.LazyAttribute(lambda run: run.finished_at - timedelta(seconds=2))
