"""POST /sync/ hands a sync to the running sync process (staff only, 202 with the request);
GET /sync-runs/ and /sync-runs/{id}/."""

import pytest

from orderstate import sync
from orderstate.models import SyncOutcome, SyncRun
from tests.clients import api_client_for

SYNC = "/api/v1/sync/"


@pytest.fixture
def calls(monkeypatch):
    """The requests the API makes (the sync area's request_sync, recorded); a run in the web
    worker fails the test."""
    seen = []
    request_sync = sync.request_sync

    def record(**kwargs):
        seen.append(kwargs)
        return request_sync(**kwargs)

    def run_sync(*args, **kwargs):
        raise AssertionError("the web worker ran a sync")

    monkeypatch.setattr(sync, "request_sync", record, raising=False)
    monkeypatch.setattr(sync, "run_sync", run_sync, raising=False)
    return seen


def test_staff_requests_a_sync_and_gets_the_request(staff_api, staff_user, calls):
    response = staff_api.post(SYNC, {"dry_run": True}, format="json")

    assert response.status_code == 202
    body = response.json()
    assert (body["outcome"], body["dry_run"]) == ("requested", True)
    assert body["requested_at"] is not None
    assert response["Location"].endswith(f"/api/v1/sync-runs/{body['id']}/")
    assert calls == [{"dry_run": True, "actor": staff_user, "source": "api", "account": "default"}]


def test_the_requested_run_is_read_at_its_location_once_the_sync_process_ran_it(
    staff_api, viewer_api, calls
):
    location = staff_api.post(SYNC, {}, format="json")["Location"]
    assert viewer_api.get(location).json()["outcome"] == "requested"

    run_sync_for_real(sync.next_request())

    body = viewer_api.get(location).json()
    assert body["outcome"] == "ok"
    assert "checked" in body["stats"]


def run_sync_for_real(request):
    from orderstate.brokers.paper import PaperBroker
    from orderstate.sync import run as sync_run

    return sync_run.run_sync(broker=PaperBroker(), request=request)


def test_empty_body_means_a_real_run(staff_api, calls):
    assert staff_api.post(SYNC).status_code == 202
    assert calls[0]["dry_run"] is False


def test_non_staff_writer_is_403(trader_api, calls):
    response = trader_api.post(SYNC, {}, format="json")

    assert response.status_code == 403
    assert calls == []


def test_staff_token_scoped_to_another_account_may_not_sync_the_brokers(staff_user, calls):
    response = api_client_for(staff_user, account="family").post(SYNC, {}, format="json")

    assert response.status_code == 403
    assert "family" in response.json()["detail"]
    assert calls == []


def test_staff_token_scoped_to_the_brokers_account_syncs_it(staff_user, calls):
    response = api_client_for(staff_user, account="default").post(SYNC, {}, format="json")

    assert response.status_code == 202
    assert calls[0]["account"] == "default"


def test_read_only_staff_token_is_403(staff_user, calls):
    response = api_client_for(staff_user, read_only=True).post(SYNC, {}, format="json")

    assert response.status_code == 403
    assert calls == []


def test_anonymous_is_401(anonymous_api, calls):
    assert anonymous_api.post(SYNC, {}, format="json").status_code == 401
    assert calls == []


def test_bad_dry_run_is_400(staff_api, calls):
    response = staff_api.post(SYNC, {"dry_run": "maybe"}, format="json")

    assert response.status_code == 400
    assert "dry_run" in response.json()["fields"]
    assert calls == []


def test_get_on_sync_is_405(staff_api):
    assert staff_api.get(SYNC).status_code == 405


def test_sync_runs_lists_newest_first(viewer_api):
    SyncRun.objects.create(broker="paper", outcome=SyncOutcome.FAILED, error="timeout")
    SyncRun.objects.create(broker="paper", outcome=SyncOutcome.OK)

    body = viewer_api.get("/api/v1/sync-runs/").json()

    assert body["count"] == 2
    assert [run["outcome"] for run in body["results"]] == ["ok", "failed"]
    assert viewer_api.get("/api/v1/sync-runs/", {"outcome": "failed"}).json()["count"] == 1
