"""API throttling: per-token, per-user and anonymous budgets; 429 with Retry-After and JSON."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.views import APIView

from orderstate.api import throttling
from orderstate.env import env_rate
from tests.clients import token_client_for


class Ping(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("ping/", Ping.as_view()), path("", include("orderstate.urls"))]
pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def rates(monkeypatch):
    """Small budgets, so a few requests reach them."""
    rates = {"token": "3/min", "user": "2/min", "anon": "2/min"}
    for cls in (
        throttling.TokenRateThrottle,
        throttling.SessionUserRateThrottle,
        throttling.AnonymousRateThrottle,
    ):
        monkeypatch.setattr(cls, "THROTTLE_RATES", rates)
    return rates


def test_settings_throttle_every_kind_of_caller():
    expected = [
        throttling.TokenRateThrottle,
        throttling.SessionUserRateThrottle,
        throttling.AnonymousRateThrottle,
    ]
    assert list(api_settings.DEFAULT_THROTTLE_CLASSES) == expected
    assert set(api_settings.DEFAULT_THROTTLE_RATES) == {"token", "user", "anon"}


def test_token_over_its_rate_gets_429_with_retry_after_and_json(rates, trader):
    client = token_client_for(trader)
    assert [client.get("/ping/").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/ping/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Content-Type"].startswith("application/json")
    assert "throttled" in response.json()["detail"].lower()


def test_api_answers_429_as_json_with_code_and_retry_after(rates, trader):
    client = token_client_for(trader)
    for _ in range(3):
        assert client.get("/api/v1/orders/").status_code == 200
    response = client.post("/api/v1/orders/", {}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


def test_each_token_has_its_own_budget(rates, trader):
    first, second = token_client_for(trader), token_client_for(trader)
    for _ in range(3):
        first.get("/ping/")
    assert first.get("/ping/").status_code == 429
    assert second.get("/ping/").status_code == 200


def test_session_user_is_throttled_by_user(rates, client, staff_user):
    client.force_login(staff_user)
    assert [client.get("/ping/").status_code for _ in range(3)] == [200, 200, 429]


def test_anonymous_callers_are_throttled_by_address(rates, db):
    client = APIClient()
    assert [client.get("/ping/").status_code for _ in range(3)] == [200, 200, 429]
    other = APIClient(REMOTE_ADDR="10.1.2.3")
    assert other.get("/ping/").status_code == 200


@pytest.mark.parametrize("raw", ["100", "ten/s", "100/fortnight", "-1/s", "100/ s"])
def test_bad_rate_in_the_environment_stops_the_start(monkeypatch, raw):
    monkeypatch.setenv("SOME_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_RATE"):
        env_rate("SOME_RATE", "1/s")


def test_rate_from_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("SOME_RATE", "500/min")
    assert env_rate("SOME_RATE", "1/s") == "500/min"
    monkeypatch.delenv("SOME_RATE")
    assert env_rate("SOME_RATE", "1/s") == "1/s"
