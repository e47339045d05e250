"""Reconciliation with the broker: one pass over its order book, applied through the actions.

`run` holds a run under the single-instance lock and its record (SyncRun);
`reconcile` compares the book with local orders and applies the differences;
`sources` wraps books the old bot hands in. What each row asks of its order
is `actions.broker_rule`, the one rule the sync, its dry run and the actions
share.
"""

from orderstate.sync.run import next_request, request_sync, run_sync, summary, sync_with_broker

__all__ = ["next_request", "request_sync", "run_sync", "summary", "sync_with_broker"]
