"""Dashboard and admin log-in: repeated failures lock the username (or address) for a while."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.models import LoginFailure
from tests.factories import PASSWORD

LOGIN_URL = "/accounts/login/"


@pytest.fixture
def lockout_settings(settings):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_MAX_FAILURES_PER_IP = 6
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    settings.LOGIN_LOCKOUT_SECONDS = 300
    return settings


def attempt(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, times, username="trader", address="10.0.0.1"):
    for _ in range(times):
        response = attempt(client, username, "wrong password", address)
    return response


def test_a_failure_below_the_limit_shows_the_usual_error(client, trader, lockout_settings):
    response = fail(client, 2)
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_the_failure_that_reaches_the_limit_locks_with_a_clear_message(
    client, trader, lockout_settings
):
    response = fail(client, 3)
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "try again in 5 minutes" in response.content.decode()
    assert 290 <= int(response["Retry-After"]) <= 300


def test_the_right_password_is_refused_while_locked(client, trader, lockout_settings):
    fail(client, 3)
    response = attempt(client, "trader", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_locked_attempt_is_not_counted_again(client, trader, lockout_settings):
    fail(client, 3)
    fail(client, 4)
    assert LoginFailure.objects.filter(key="user:trader").count() == 3


def test_the_lock_ends_after_the_cool_off(client, trader, lockout_settings):
    fail(client, 3)
    LoginFailure.objects.update(failed_at=timezone.now() - timedelta(seconds=301))
    response = attempt(client, "trader", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(trader.pk)


def test_a_successful_login_clears_the_username_failures(client, trader, lockout_settings):
    fail(client, 2)
    assert attempt(client, "trader", PASSWORD).status_code == 302
    client.logout()
    response = fail(client, 2)
    assert response.status_code == 200


def test_username_case_and_spaces_do_not_dodge_the_lock(client, trader, lockout_settings):
    fail(client, 1, username="trader")
    fail(client, 1, username="TRADER")
    response = fail(client, 1, username=" Trader ")
    assert response.status_code == 429


def test_failures_outside_the_window_do_not_count(client, trader, lockout_settings):
    fail(client, 2)
    LoginFailure.objects.update(failed_at=timezone.now() - timedelta(seconds=601))
    assert fail(client, 1).status_code == 200


def test_one_address_trying_many_usernames_is_locked(client, trader, lockout_settings):
    for number in range(6):
        response = fail(client, 1, username=f"guess{number}")
    assert response.status_code == 429
    assert attempt(client, "trader", PASSWORD).status_code == 429
    assert attempt(client, "trader", PASSWORD, address="10.0.0.2").status_code == 302


def test_the_lock_is_shared_through_the_database_not_the_process(client, trader, lockout_settings):
    now = timezone.now()
    LoginFailure.objects.bulk_create(LoginFailure(key="user:trader", failed_at=now) for _ in "abc")
    assert attempt(client, "trader", PASSWORD).status_code == 429


def test_admin_login_shares_the_lock(client, trader, lockout_settings):
    trader.is_staff = True
    trader.save()
    fail(client, 3)
    response = client.post(
        "/admin/login/", {"username": "trader", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_client_address_comes_from_the_configured_proxy_header(client, trader, settings):
    settings.LOGIN_CLIENT_IP_HEADER = "X-Forwarded-For"
    client.post(
        LOGIN_URL,
        {"username": "trader", "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
    )
    assert LoginFailure.objects.filter(key="ip:203.0.113.7").exists()
