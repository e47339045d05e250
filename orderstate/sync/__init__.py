"""Reconciliation with the broker: one pass over its order book, applied through the actions.

`run.py` holds a run under the single-instance lock and its record (SyncRun);
`reconcile.py` compares the book with local orders; `rule.py` is the one broker
rule (what a broker report asks of an order), shared by the sync, its dry run
and the actions.
"""

from orderstate.sync.run import run_sync, summary, sync_with_broker

__all__ = ["run_sync", "summary", "sync_with_broker"]
