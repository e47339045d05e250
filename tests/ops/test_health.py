"""/healthz: liveness with the database and the age of the last successful sync.

/metrics is in test_metrics.py.
"""

from datetime import timedelta
from unittest import mock

from django.db import OperationalError

from orderstate.models import SyncOutcome
from orderstate.ops import health
from tests.factories import SyncRunFactory


def test_healthz_needs_no_auth_and_reports_the_last_successful_sync_age(client, db):
    SyncRunFactory(age=timedelta(seconds=120))
    SyncRunFactory(outcome=SyncOutcome.FAILED, age=timedelta(seconds=5))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert 119 <= body["last_sync_age_seconds"] < 180
    assert body["sync_stale"] is False


def test_healthz_without_any_sync_reports_none_and_stale(client, db):
    body = client.get("/healthz").json()
    assert body["last_sync_age_seconds"] is None
    assert body["sync_stale"] is True


def test_healthz_is_503_json_when_the_check_query_fails(client, db):
    with mock.patch.object(health, "check_database", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_healthz_is_503_when_the_database_connection_cannot_be_opened(client, db):
    refused = OperationalError("connection refused")
    with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=refused):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


def test_healthz_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405
