"""Who may read and change orders: direct grants, group grants, superusers, nobody."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderstate.models import Order
from tests.clients import token_client_for
from tests.factories import UserFactory

ORDERS = "/api/v1/orders/"
BUY = {"broker_order_id": "P-1", "symbol": "TCS-EQ", "side": "BUY", "quantity": 10}


def order_group(name, *codenames):
    group = Group.objects.create(name=name)
    group.permissions.add(*Permission.objects.filter(codename__in=codenames))
    return group


@pytest.mark.django_db
def test_change_permission_through_a_group_lets_a_token_write():
    user = UserFactory(username="grouped")
    user.groups.add(order_group("bots", "view_order", "change_order"))

    response = token_client_for(user).post(ORDERS, {**BUY, "price": "10.00"}, format="json")

    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_view_permission_through_a_group_reads_but_may_not_write():
    user = UserFactory(username="watcher")
    user.groups.add(order_group("watchers", "view_order"))
    client = token_client_for(user)

    assert client.get(ORDERS).status_code == 200
    assert client.post(ORDERS, {**BUY, "price": "10.00"}, format="json").status_code == 403
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_user_without_order_permissions_gets_403():
    user = UserFactory(username="stranger")
    user.groups.add(order_group("auditors", "view_logentry"))

    assert token_client_for(user).get(ORDERS).status_code == 403


@pytest.mark.django_db
def test_superuser_may_write_without_explicit_grants():
    user = UserFactory(username="root", is_superuser=True)

    response = token_client_for(user).post(ORDERS, {**BUY, "price": "10.00"}, format="json")

    assert response.status_code == 201


@pytest.mark.django_db
def test_a_fill_through_a_token_stays_within_its_query_budget(trader):
    """Token, permissions, the order, the locked change with its events, its lot in the
    symbol's ledger (lock the position with its open trade, insert the lot, update both),
    and the subscriptions that may want the fill (the outbox): 15 statements.

    Counted inside the test's transaction, so BEGIN and COMMIT show as SAVEPOINT and
    RELEASE. It took 15 when permissions were two queries and each event its own INSERT,
    12 before the ledger, 14 before the outbox.
    """
    client = token_client_for(trader)
    client.post(ORDERS, {**BUY, "price": "10.00"}, format="json")
    client.post(f"{ORDERS}P-1/fills/", {"quantity": 2, "price": "10.00"}, format="json")

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"{ORDERS}P-1/fills/", {"quantity": 3, "price": "10.00", "fill_id": "f2"}, format="json"
        )

    assert response.status_code == 200, response.json()
    assert len(queries) <= 15, "\n".join(query["sql"][:120] for query in queries)
