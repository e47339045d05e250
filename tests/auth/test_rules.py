"""One rule per action for every face: sessions on the API, account grants, who starts a sync."""

import pytest
from django.contrib.admin.models import LogEntry

from orderstate import sync
from orderstate.manager import OrderStateManager
from orderstate.models import AccountGrant, SyncOutcome, SyncRun
from tests.api.bodies import ORDERS
from tests.clients import api_client_for, logged_in_client, token_client_for
from tests.factories import SyncRunFactory, UserFactory

pytestmark = pytest.mark.django_db

BUY = {"broker_order_id": "P-1", "symbol": "TCS-EQ", "side": "BUY", "quantity": 10}


@pytest.fixture
def two_accounts(db):
    """A pending SELL in each of two accounts: S-D in "default", S-F in "family"."""
    OrderStateManager(source="api").register_sell_order("TCS-EQ", "S-D", "4000.00", 5)
    OrderStateManager(source="api", account="family").register_sell_order(
        "INFY-EQ", "S-F", "1500.00", 3
    )


def family_only(user):
    AccountGrant.objects.create(user=user, account="family")
    return user


# A browser session on the API (the session's user is a lazy object) ----------------


@pytest.mark.parametrize("role", ["viewer", "trader"])
def test_a_logged_in_browser_reads_the_api_without_staff(request, role, two_accounts):
    client = logged_in_client(request.getfixturevalue(role))

    response = client.get(ORDERS)

    assert response.status_code == 200, response.content[:300]
    assert {order["broker_order_id"] for order in response.json()["results"]} == {"S-D", "S-F"}


def test_a_logged_in_trader_registers_through_the_api_with_a_csrf_token(trader):
    client = logged_in_client(trader, enforce_csrf_checks=True)
    client.get("/orders/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value

    response = client.post(
        ORDERS,
        {**BUY, "price": "10.00"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 201, response.content[:300]


def test_a_session_without_order_permissions_is_403_not_500(db):
    response = logged_in_client(UserFactory()).get(ORDERS)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# Account grants on the API ------------------------------------------------------------


def test_a_user_granted_one_account_reads_only_it_through_a_session(viewer, two_accounts):
    client = logged_in_client(family_only(viewer))

    listed = client.get(ORDERS).json()["results"]

    assert [order["broker_order_id"] for order in listed] == ["S-F"]
    assert client.get(f"{ORDERS}S-F/").status_code == 200
    assert client.get(f"{ORDERS}S-D/").status_code == 404
    assert client.get(f"{ORDERS}S-D/?account=default").status_code == 404


def test_a_user_granted_one_account_may_not_write_another(trader, two_accounts):
    client = logged_in_client(family_only(trader))

    refused = client.post(
        ORDERS, {**BUY, "price": "10.00", "account": "default"}, content_type="application/json"
    )
    landed = client.post(ORDERS, {**BUY, "price": "10.00"}, content_type="application/json")

    assert refused.status_code == 403
    assert landed.status_code == 201
    assert landed.json()["account"] == "family"


def test_a_token_of_a_granted_user_sees_only_the_granted_account(trader, two_accounts):
    client = token_client_for(family_only(trader))

    listed = client.get(ORDERS).json()["results"]

    assert [order["broker_order_id"] for order in listed] == ["S-F"]


def test_a_superuser_is_never_narrowed_by_grants(superuser, two_accounts):
    client = logged_in_client(family_only(superuser))

    assert len(client.get(ORDERS).json()["results"]) == 2


def test_sync_runs_of_other_accounts_are_hidden_from_a_scoped_token(trader):
    SyncRunFactory(account="default", stats={"plan": ["S-D"]})
    SyncRunFactory(account="family", stats={"plan": ["S-F"]})

    scoped = api_client_for(trader, account="family").get("/api/v1/sync-runs/").json()
    everyone = api_client_for(trader).get("/api/v1/sync-runs/").json()

    assert [run["stats"]["plan"] for run in scoped["results"]] == [["S-F"]]
    assert len(everyone["results"]) == 2


def test_sync_runs_of_other_accounts_are_hidden_from_a_granted_session(viewer):
    SyncRunFactory(account="default")

    response = logged_in_client(family_only(viewer)).get("/api/v1/sync-runs/")

    assert response.json()["results"] == []


def test_a_run_records_the_account_it_synced(staff_user):
    run = sync.run_sync(broker_name="paper", actor=staff_user, account="family")

    assert SyncRun.objects.get(pk=run.pk).account == "family"


# Who may start a sync: one rule for the API and the dashboard --------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("viewer", False), ("trader", False), ("staff_user", True)]
)
def test_the_dashboard_and_the_api_agree_on_who_starts_a_sync(request, role, allowed):
    user = request.getfixturevalue(role)

    api = api_client_for(user).post("/api/v1/sync/", {}, format="json")
    page = logged_in_client(user).post("/sync/run/")

    assert (api.status_code == 202) is allowed
    assert (page.status_code == 302) is allowed
    assert page.status_code in (302, 403)
    requested = SyncRun.objects.filter(outcome=SyncOutcome.REQUESTED).count()
    assert requested == (2 if allowed else 0)


def test_staff_granted_another_account_may_not_start_the_sync(staff_user):
    family_only(staff_user)

    assert logged_in_client(staff_user).post("/sync/run/").status_code == 403
    assert api_client_for(staff_user).post("/api/v1/sync/", {}, format="json").status_code == 403
    assert not SyncRun.objects.exists()


# Grants in the admin ---------------------------------------------------------------------


def test_granting_an_account_in_the_admin_is_logged_with_the_staff_user(superuser, viewer):
    client = logged_in_client(superuser)

    response = client.post(
        "/admin/orderstate/accountgrant/add/", {"user": viewer.pk, "account": "family"}
    )

    assert response.status_code == 302, response.content[:500]
    assert AccountGrant.objects.get().account == "family"
    entry = LogEntry.objects.get()
    assert entry.user == superuser
    assert "family" in entry.object_repr
