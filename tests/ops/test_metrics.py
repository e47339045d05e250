"""/metrics: Prometheus text, for staff sessions and tokens only."""

import math
import re
from datetime import timedelta
from unittest import mock

from django.db import OperationalError

from orderstate.manager import OrderStateManager
from orderstate.models import SyncOutcome
from orderstate.models.auth import ApiToken
from orderstate.ops import metrics
from tests.factories import SyncRunFactory

SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*)\})? (?P<value>NaN|[+-]?Inf|-?[0-9.e+-]+)$'
)


def parse_exposition(text):
    """Samples as {(name, labels): value}; fails on any line the text format does not allow."""
    assert text.endswith("\n")
    samples, typed = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter")
            typed[name] = kind
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        assert match["name"] in typed, f"{match['name']} has no TYPE line before it"
        samples[(match["name"], match["labels"] or "")] = float(match["value"])
    return samples


def test_metrics_need_authentication(client, db):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_metrics_are_for_staff_sessions_not_other_users(client, trader):
    client.force_login(trader)
    assert client.get("/metrics").status_code == 403


def test_metrics_refuse_a_revoked_token(client, trader):
    token, key = ApiToken.issue(trader)
    token.revoke()
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_metrics_with_a_token_report_state_in_prometheus_format(client, trader, sell_order):
    SyncRunFactory(age=timedelta(seconds=30))
    SyncRunFactory(outcome=SyncOutcome.FAILED, age=timedelta(seconds=10))
    _, key = ApiToken.issue(trader, read_only=True)
    client.get("/healthz")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse_exposition(response.content.decode())
    assert samples[("orderstate_orders", 'status="PENDING"')] == 1  # the sell order
    assert samples[("orderstate_orders", 'status="EXECUTED"')] == 1  # the buy behind it
    assert samples[("orderstate_orders", 'status="CANCELLED"')] == 0
    assert samples[("orderstate_open_trades", "")] == 1
    assert samples[("orderstate_failed_orders_waiting", "")] == 0
    assert 29 <= samples[("orderstate_last_successful_sync_age_seconds", "")] < 90
    assert samples[("orderstate_last_sync_outcome", 'outcome="failed"')] == 1
    assert samples[("orderstate_last_sync_outcome", 'outcome="ok"')] == 0
    assert samples[("orderstate_http_requests_total", 'method="GET",status="200"')] >= 1


def test_metrics_count_requests_by_method_and_status(client, staff_user):
    client.force_login(staff_user)
    before = parse_exposition(client.get("/metrics").content.decode()).get(
        ("orderstate_http_requests_total", 'method="DELETE",status="405"'), 0
    )
    client.delete("/healthz")
    client.generic("BREW", "/healthz")
    samples = parse_exposition(client.get("/metrics").content.decode())
    assert samples[("orderstate_http_requests_total", 'method="DELETE",status="405"')] == before + 1
    assert samples[("orderstate_http_requests_total", 'method="OTHER",status="405"')] >= 1


def test_metrics_without_any_sync_say_nan(client, staff_user):
    client.force_login(staff_user)
    samples = parse_exposition(client.get("/metrics").content.decode())
    value = samples[("orderstate_last_successful_sync_age_seconds", "")]
    assert math.isnan(value)


def test_metrics_are_503_when_the_database_is_down(client, staff_user):
    client.force_login(staff_user)
    with mock.patch.object(metrics, "render_metrics", side_effect=OperationalError("gone")):
        response = client.get("/metrics")
    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert "gone" not in response.content.decode()


def test_a_scoped_token_sees_only_its_accounts_counts(client, trader, tcs_sell_order, monkeypatch):
    OrderStateManager(source="api", account="family").register_sell_order(
        "INFY-EQ", "S-F", "1500.00", 3
    )
    SyncRunFactory(account="default", outcome=SyncOutcome.FAILED)

    def unscoped(now):
        yield metrics.Family("orderstate_everyones_total", "gauge", "Summed over accounts.", [])

    monkeypatch.setattr(metrics, "SOURCES", [*metrics.SOURCES, unscoped])
    _, key = ApiToken.issue(trader, account="family")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}").content.decode()
    samples = parse_exposition(text)

    assert samples[("orderstate_orders", 'status="PENDING"')] == 1  # S-F, not S-100 too
    assert samples[("orderstate_last_sync_outcome", 'outcome="failed"')] == 0
    assert "orderstate_everyones_total" not in text
    assert "orderstate_http_requests_total" not in text


def test_an_unscoped_token_sees_every_account(client, trader, tcs_sell_order):
    OrderStateManager(source="api", account="family").register_sell_order(
        "INFY-EQ", "S-F", "1500.00", 3
    )
    _, key = ApiToken.issue(trader)
    samples = parse_exposition(
        client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}").content.decode()
    )

    assert samples[("orderstate_orders", 'status="PENDING"')] == 2


def test_every_sources_families_are_exposed_with_their_kind(client, staff_user, monkeypatch):
    def feed_families(now):
        yield metrics.Family(
            "orderstate_feed_frames_total", "counter", "Frames read.", [((("kind", "order"),), 3)]
        )
        yield metrics.Family("orderstate_feed_connected", "gauge", "1 while connected.", [((), 1)])

    monkeypatch.setattr(metrics, "SOURCES", [*metrics.SOURCES, feed_families])
    client.force_login(staff_user)
    text = client.get("/metrics").content.decode()
    samples = parse_exposition(text)

    assert "# TYPE orderstate_feed_frames_total counter" in text
    assert samples[("orderstate_feed_frames_total", 'kind="order"')] == 3
    assert samples[("orderstate_feed_connected", "")] == 1
