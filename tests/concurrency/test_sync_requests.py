"""Two sync processes racing for one "Sync now" request on PostgreSQL: it runs exactly once,
into its own row, and neither leaves a second run behind."""

import pytest
from django.db import connection

from orderstate.brokers.paper import PaperBroker
from orderstate.manager import OrderStateManager
from orderstate.models import SyncOutcome, SyncRun
from orderstate.sync import request_sync
from orderstate.sync import run as sync
from tests.concurrency.test_manager import in_processes


class CountingBroker(PaperBroker):
    """The paper broker, writing a line to `path` each time a run reads its book."""

    def __init__(self, path):
        super().__init__(seed=1)
        self.path = path

    def fetch_order_book(self):
        with self.path.open("a") as log:
            log.write("read\n")
        return super().fetch_order_book()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_loops_racing_for_one_request_run_it_once(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("multi-process races need PostgreSQL")
    OrderStateManager().register_buy_order("TCS", "P-1", "100.00", 3)
    request = request_sync()

    def take(index):
        broker = CountingBroker(tmp_path / "reads.log")
        return sync.run_sync(broker=broker, request=request).outcome

    outcomes = in_processes(take, 2)

    # One ran it; the other found the lock held or the request taken, and left it be.
    assert sorted(value for _, value in outcomes) in (
        [SyncOutcome.OK, SyncOutcome.OK],  # the loser read the row after the winner finished
        [SyncOutcome.OK, SyncOutcome.RUNNING],
        [SyncOutcome.OK, SyncOutcome.REQUESTED],
    )
    request.refresh_from_db()
    assert request.outcome == SyncOutcome.OK
    assert SyncRun.objects.count() == 1  # no second run, no skipped row
    assert (tmp_path / "reads.log").read_text() == "read\n"  # the book was read by one run
