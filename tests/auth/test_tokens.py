"""API tokens: stored hashed, expiring, revocable, read-only and account-scoped."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import include, path
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from orderstate.api.permissions import CanWriteOrders, scoped_orders
from orderstate.models import Order
from orderstate.models.auth import ApiToken, hash_key
from tests.clients import client_with_token


class OrderProbe(APIView):
    """A minimal order endpoint built on the API's permission helpers."""

    permission_classes = [CanWriteOrders]

    def get(self, request, order_id):
        order = scoped_orders(request, Order.objects).filter(broker_order_id=order_id).first()
        if order is None:
            return Response({"code": "not_found", "detail": "no such order"}, status=404)
        return Response({"order_id": order.broker_order_id, "account": order.account})

    def post(self, request, order_id):
        return Response({"written": order_id})


urlpatterns = [
    path("probe/<str:order_id>/", OrderProbe.as_view()),
    path("", include("orderstate.urls")),
]
pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def bot_token(trader):
    return ApiToken.issue(trader, name="bot")


def test_raw_key_is_not_stored_anywhere_in_the_token_table(bot_token):
    token, key = bot_token
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        rows = cursor.fetchall()
    stored = " ".join(str(value) for row in rows for value in row)
    assert key not in stored
    assert key.split(".", 1)[1] not in stored
    assert token.key_hash == hash_key(key)
    assert len(token.key_hash) == 64


def test_valid_token_authenticates_and_sets_request_auth(bot_token, sell_order):
    token, key = bot_token
    response = client_with_token(key).get("/probe/S-1/")
    assert response.status_code == 200
    assert response.json() == {"order_id": "S-1", "account": "default"}
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_wrong_secret_with_a_real_prefix_is_401(bot_token):
    token, _ = bot_token
    forged = f"{token.prefix}.{'A' * 43}"
    response = client_with_token(forged).get("/probe/S-1/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token no-dot-here", "Token ü"])
def test_malformed_token_headers_are_401_not_500(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/probe/X/").status_code == 401


def test_no_credentials_is_401(db):
    assert APIClient().get("/probe/X/").status_code == 401


def test_expired_token_is_401_with_json(trader):
    token, key = ApiToken.issue(trader, expires_in=timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_with_token(key).get("/probe/X/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_revoked_token_is_401_at_once(bot_token):
    token, key = bot_token
    assert client_with_token(key).post("/probe/X/").status_code == 200
    assert token.revoke() is True
    response = client_with_token(key).post("/probe/X/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert token.revoke() is False


def test_token_of_an_inactive_user_is_401(bot_token, trader):
    trader.is_active = False
    trader.save()
    assert client_with_token(bot_token[1]).get("/probe/X/").status_code == 401


def test_read_only_token_reads_but_gets_403_on_writes(trader, sell_order):
    _, key = ApiToken.issue(trader, read_only=True)
    client = client_with_token(key)
    assert client.get("/probe/S-1/").json() == {"order_id": "S-1", "account": "default"}
    assert client.post("/probe/S-1/").status_code == 403


def test_writable_token_of_a_view_only_user_gets_403_on_writes(viewer):
    _, key = ApiToken.issue(viewer)
    assert client_with_token(key).post("/probe/X/").status_code == 403


def test_account_scoped_token_gets_404_for_another_accounts_order(trader, manager):
    manager.register_buy_order("TCS", "B-MAIN", "3500.00", 1)
    manager.register_buy_order("TCS", "B-SIDE", "3500.00", 1, account="side")
    _, key = ApiToken.issue(trader, account="side")
    client = client_with_token(key)
    assert client.get("/probe/B-SIDE/").json()["account"] == "side"
    response = client.get("/probe/B-MAIN/")
    assert response.status_code == 404
    assert "B-MAIN" not in response.content.decode()


def test_account_scoped_token_cannot_reach_another_accounts_order_through_the_api(trader, manager):
    manager.register_sell_order("TCS", "S-MAIN", "3600.00", 1)
    manager.register_sell_order("TCS", "S-SIDE", "3600.00", 1, account="side")
    _, key = ApiToken.issue(trader, account="side")
    client = client_with_token(key)
    listed = client.get("/api/v1/orders/").json()["results"]
    assert [order["broker_order_id"] for order in listed] == ["S-SIDE"]
    assert client.get("/api/v1/orders/S-SIDE/").status_code == 200
    for response in (
        client.get("/api/v1/orders/S-MAIN/"),
        client.post("/api/v1/orders/S-MAIN/cancel/", {}, format="json"),
        client.patch("/api/v1/orders/S-MAIN/", {"price": "1.00"}, format="json"),
        client.get("/api/v1/orders/S-MAIN/?account=default"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert list(client.get("/api/v1/active-sell-orders/?account=default").json()) == ["TCS"]
    assert client.get("/api/v1/active-sell-orders/").json()["TCS"]["order_id"] == "S-SIDE"
    assert Order.objects.get(broker_order_id="S-MAIN").status == "PENDING"


def test_read_only_token_gets_403_json_on_api_writes(trader, sell_order):
    _, key = ApiToken.issue(trader, read_only=True)
    client = client_with_token(key)
    assert client.get("/api/v1/orders/S-1/").status_code == 200
    response = client.post("/api/v1/orders/S-1/cancel/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Order.objects.get(broker_order_id="S-1").status == "PENDING"


def test_expired_token_gets_401_json_from_the_api(trader):
    token, key = ApiToken.issue(trader)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    response = client_with_token(key).get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": "This token has expired."}
    assert response["WWW-Authenticate"] == "Token"


def test_unscoped_token_sees_every_account(trader, manager):
    manager.register_buy_order("TCS", "B-SIDE", "3500.00", 1, account="side")
    _, key = ApiToken.issue(trader)
    response = client_with_token(key).get("/probe/B-SIDE/")
    assert response.status_code == 200
    assert response.json() == {"order_id": "B-SIDE", "account": "side"}


def test_last_used_is_stamped_at_most_once_a_minute(bot_token):
    token, key = bot_token
    client = client_with_token(key)
    client.get("/probe/X/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    client.get("/probe/X/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_session_authentication_still_works(client, staff_user, sell_order):
    client.force_login(staff_user)
    response = client.get("/probe/S-1/")
    assert response.status_code == 200
    assert response.json() == {"order_id": "S-1", "account": "default"}


# The commands -------------------------------------------------------------


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_create_api_token_makes_a_writer_and_prints_a_working_key_once(db, django_user_model):
    key, note = run("create_api_token", "sellbot", "--name", "sell engine")
    user = django_user_model.objects.get(username="sellbot")
    assert user.has_perm("orderstate.change_order") and user.has_perm("orderstate.view_order")
    assert not user.has_usable_password()
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.read_only, token.account, token.expires_at) == (
        "sell engine",
        False,
        None,
        None,
    )
    assert key.startswith(token.prefix + ".") and key not in note
    assert client_with_token(key).post("/probe/X/").status_code == 200


def test_create_read_only_scoped_expiring_token(db, django_user_model):
    key, _ = run(
        "create_api_token", "watcher", "--read-only", "--account", "side", "--expires-days", "7"
    )
    user = django_user_model.objects.get(username="watcher")
    assert user.has_perm("orderstate.view_order")
    assert not user.has_perm("orderstate.change_order")
    token = ApiToken.objects.get(user=user)
    assert token.read_only and token.account == "side"
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert client_with_token(key).post("/probe/X/").status_code == 403


@pytest.mark.parametrize(
    "args",
    [
        ("--expires-days", "0"),
        ("--expires-days", "-3"),
        ("--account", "  "),
        ("--account", "x" * 65),
    ],
)
def test_create_api_token_refuses_bad_options_and_creates_nothing(db, django_user_model, args):
    with pytest.raises(CommandError):
        run("create_api_token", "someone", *args)
    assert not django_user_model.objects.filter(username="someone").exists()
    assert not ApiToken.objects.exists()


def test_revoke_api_token_by_prefix(bot_token):
    token, key = bot_token
    out, _ = run("revoke_api_token", token.prefix)
    assert "revoked" in out
    assert client_with_token(key).get("/probe/X/").status_code == 401
    out, _ = run("revoke_api_token", key)
    assert "already revoked" in out


def test_revoke_unknown_prefix_fails(db):
    with pytest.raises(CommandError, match="deadbeef"):
        run("revoke_api_token", "deadbeef")


def test_demo_login_prints_a_hashed_token_and_retires_the_previous_one(db):
    first, _ = run("demo_login")
    second, _ = run("demo_login")
    key = second.split("API token", 1)[1].split()[0]
    old = first.split("API token", 1)[1].split()[0]
    assert client_with_token(key).get("/probe/X/").status_code in (200, 404)
    assert client_with_token(old).get("/probe/X/").status_code == 401
    assert ApiToken.objects.filter(key_hash=hash_key(key)).exists()


def test_issue_draws_another_prefix_when_one_is_taken(trader, monkeypatch):
    token, _ = ApiToken.issue(trader)
    prefixes = iter([token.prefix, "0badcafe"])
    monkeypatch.setattr("orderstate.models.auth.secrets.token_hex", lambda n: next(prefixes))
    second, key = ApiToken.issue(trader)
    assert second.prefix == "0badcafe" and key.startswith("0badcafe.")
    assert ApiToken.objects.count() == 2


def test_list_api_tokens_shows_scope_and_state_but_never_a_key(trader, viewer):
    _, key = ApiToken.issue(trader, name="sell engine", account="side")
    revoked, _ = ApiToken.issue(viewer, read_only=True)
    revoked.revoke()
    out, _ = run("list_api_tokens")
    assert "sell engine" in out and "side" in out and "read-write" in out
    assert revoked.prefix not in out
    assert key.split(".", 1)[1] not in out
    out, _ = run("list_api_tokens", "viewer", "--all")
    assert revoked.prefix in out and "revoked" in out and "sell engine" not in out


def test_openapi_schema_documents_the_token_header(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["in"] == "header" and scheme["name"] == "Authorization"
    assert {"tokenAuth": []} in schema["paths"]["/api/v1/orders/"]["get"]["security"]


def test_admin_lists_tokens_without_their_hash_and_revokes_them(client, trader, superuser):
    token, key = ApiToken.issue(trader, name="sell engine")
    client.force_login(superuser)
    page = client.get("/admin/orderstate/apitoken/")
    assert page.status_code == 200
    assert token.prefix in page.content.decode() and token.key_hash not in page.content.decode()
    detail = client.get(f"/admin/orderstate/apitoken/{token.pk}/change/")
    assert token.key_hash not in detail.content.decode()
    response = client.post(
        "/admin/orderstate/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client_with_token(key).get("/probe/X/").status_code == 401
    assert client.get("/admin/orderstate/apitoken/add/").status_code == 403
