"""A "Sync now" request: run once, into its own row, by whichever loop takes it first; one no
loop takes in time is closed as failed, saying why."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orderstate.brokers.paper import PaperBroker
from orderstate.models import EventSource, SyncOutcome, SyncRun
from orderstate.sync import next_request, request_sync, run_sync

pytestmark = pytest.mark.django_db


class CountingBroker(PaperBroker):
    name = "counting"

    def __init__(self):
        super().__init__(seed=1)
        self.reads = 0

    def fetch_order_book(self):
        self.reads += 1
        return super().fetch_order_book()


def test_a_request_runs_into_its_own_row_as_its_user(staff_user):
    request = request_sync(actor=staff_user, source=EventSource.DASHBOARD, dry_run=True)
    assert next_request() == request

    run = run_sync(broker=CountingBroker(), request=request)

    assert run.pk == request.pk and SyncRun.objects.count() == 1
    assert (run.outcome, run.dry_run, run.broker) == (SyncOutcome.OK, True, "counting")
    assert run.requested_by == staff_user and run.started_at >= run.requested_at
    assert next_request() is None


def test_a_request_another_loop_took_first_is_not_run_again():
    request = request_sync()
    seen_before = SyncRun.objects.get(pk=request.pk)  # a second loop read it too
    broker = CountingBroker()

    run_sync(broker=broker, request=request)
    again = run_sync(broker=broker, request=seen_before)

    assert broker.reads == 1
    assert again.outcome == SyncOutcome.OK and SyncRun.objects.count() == 1


def test_a_request_no_loop_took_in_time_is_closed_by_the_next_run(settings):
    settings.ORDERSTATE_SYNC_REQUEST_TIMEOUT = 60
    old = request_sync()
    SyncRun.objects.filter(pk=old.pk).update(requested_at=timezone.now() - timedelta(minutes=5))
    fresh = request_sync()

    run_sync(broker=CountingBroker())

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.outcome == SyncOutcome.FAILED
    assert "no sync process (sync_broker --loop) picked up the request" in old.error
    assert fresh.outcome == SyncOutcome.REQUESTED
