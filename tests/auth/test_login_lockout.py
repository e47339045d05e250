"""Log-in lockout (django-axes): the (username, address) pair is locked after repeated
failures, a flooding address is throttled, and the owner elsewhere is never locked out."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from tests.factories import PASSWORD

LOGIN_URL = "/accounts/login/"
HOME = "10.0.0.1"
ELSEWHERE = "10.0.0.2"


@pytest.fixture(autouse=True)
def lockout_settings(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_MAX_FAILURES_PER_IP = 6
    settings.AXES_COOLOFF_TIME = timedelta(seconds=300)
    return settings


def attempt(client, username, password, address=HOME, url=LOGIN_URL, **headers):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def fail(client, times, username="trader", address=HOME):
    for _ in range(times):
        response = attempt(client, username, "wrong password", address)
    return response


def logged_in(response, client):
    return response.status_code == 302 and "_auth_user_id" in client.session


def test_a_failure_below_the_limit_shows_the_usual_error(client, trader):
    response = fail(client, 2)

    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_the_failure_that_reaches_the_limit_locks_the_pair_with_a_clear_message(client, trader):
    response = fail(client, 3)

    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed log-in attempts" in page
    assert "try again in 5 minutes" in page
    assert '<label for="id_username">' in page  # the log-in page, with its form
    assert 290 <= int(response["Retry-After"]) <= 300


def test_the_right_password_is_refused_while_the_pair_is_locked(client, trader):
    fail(client, 3)

    response = attempt(client, "trader", PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_owner_from_another_address_is_not_locked_out(client, trader):
    fail(client, 10)

    assert logged_in(attempt(client, "trader", PASSWORD, address=ELSEWHERE), client)


def test_other_users_from_the_same_address_are_not_locked_out(client, trader, viewer):
    fail(client, 3)

    assert logged_in(attempt(client, "viewer", PASSWORD), client)


def test_a_flooding_address_is_throttled_for_every_username(client, trader):
    for number in range(6):
        response = fail(client, 1, username=f"guess{number}")

    assert response.status_code == 429
    assert attempt(client, "trader", PASSWORD).status_code == 429
    assert logged_in(attempt(client, "trader", PASSWORD, address=ELSEWHERE), client)


def test_a_locked_attempt_is_not_counted_again(client, trader):
    fail(client, 3)
    fail(client, 4)

    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 3


def test_the_lock_ends_after_the_cool_off(client, trader):
    fail(client, 3)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(seconds=301))

    assert logged_in(attempt(client, "trader", PASSWORD), client)


def test_a_successful_login_clears_the_pairs_failures(client, trader):
    fail(client, 2)
    assert logged_in(attempt(client, "trader", PASSWORD), client)
    client.logout()

    assert fail(client, 2).status_code == 200


def test_username_case_and_spaces_do_not_dodge_the_lock(client, trader):
    fail(client, 1, username="trader")
    fail(client, 1, username="TRADER")

    assert fail(client, 1, username=" Trader ").status_code == 429


def test_the_lock_is_shared_through_the_database_not_the_process(client, trader):
    AccessAttempt.objects.create(
        username="trader",
        ip_address=HOME,
        user_agent="another worker",
        failures_since_start=3,
        attempt_time=timezone.now(),
        get_data="",
        post_data="",
        http_accept="",
        path_info=LOGIN_URL,
    )

    assert attempt(client, "trader", PASSWORD).status_code == 429


def test_the_admin_login_shares_the_lock(client, trader):
    trader.is_staff = True
    trader.save()
    fail(client, 3)

    response = attempt(client, "trader", PASSWORD, url="/admin/login/")

    assert response.status_code == 429
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_behind_a_proxy_the_address_the_proxy_appended_counts(client, trader, settings):
    settings.LOGIN_CLIENT_IP_HEADER = "X-Forwarded-For"
    for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        attempt(
            client,
            "trader",
            "wrong",
            address="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.7",
        )

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    locked = attempt(
        client, "trader", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    other = attempt(
        client, "trader", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.2"
    )
    assert locked.status_code == 429
    assert logged_in(other, client)


def test_without_a_configured_header_a_forwarded_address_is_ignored(client, trader):
    fail(client, 1)
    attempt(client, "trader", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HOME}


def test_a_forwarded_entry_that_is_not_an_address_falls_back_to_the_peer(client, trader, settings):
    settings.LOGIN_CLIENT_IP_HEADER = "X-Forwarded-For"
    attempt(client, "trader", "wrong", HTTP_X_FORWARDED_FOR="1.2.3.4, not-an-address")

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {HOME}
