"""A sync run: the broker's book fetched once, reconciled under the single-instance lock,
and recorded as a SyncRun with its counts (DESIGN.md, "Broker sync").

The book is fetched before any transaction; a broker that cannot be read ends
the run as failed, changes nothing, and writes a `sync_failed` event (once per
failure episode) for notifications.
"""

import logging
from collections import Counter

from django.conf import settings
from django.utils import timezone

from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.brokers import get_broker
from orderstate.brokers.base import BrokerUnavailable
from orderstate.checks import find_problems
from orderstate.locks import single_instance
from orderstate.models import EventSource, SyncOutcome, SyncRun
from orderstate.sync.reconcile import EXTRA_KEYS, STAT_KEYS, Reconciliation, empty_stats
from orderstate.sync.sources import GivenBook, OrdersApi

log = logging.getLogger(__name__)

LOCK_NAME = "broker-sync"


def run_sync(
    broker_name=None,
    *,
    dry_run=False,
    actor=None,
    source=EventSource.SYNC,
    broker=None,
    account=None,
):
    """One reconciliation under the single-instance lock; returns the stored SyncRun.

    `broker` (an object with `fetch_order_book()`) overrides `broker_name`.
    The outcome is ok, failed (the broker could not be read: nothing changed),
    or skipped (another sync holds the lock).
    """
    name = getattr(broker, "name", None) or broker_name or settings.ORDERSTATE_BROKER
    account = account or settings.ORDERSTATE_DEFAULT_ACCOUNT
    with single_instance(LOCK_NAME) as acquired:
        if not acquired:
            return SyncRun.objects.create(
                broker=name,
                account=account,
                dry_run=dry_run,
                outcome=SyncOutcome.SKIPPED,
                finished_at=timezone.now(),
                stats=empty_stats(),
                error="another sync is running; skipped",
            )
        # Holding the lock, no other run can be live: a RUNNING one was cut off
        # (the process was killed) and is closed as such.
        SyncRun.objects.filter(outcome=SyncOutcome.RUNNING).update(
            outcome=SyncOutcome.FAILED,
            finished_at=timezone.now(),
            error="abandoned: the process ended during the run",
        )
        run = SyncRun.objects.create(broker=name, account=account, dry_run=dry_run)
        ctx = Context.of(source, actor, account)
        try:
            broker = broker or get_broker(name)
            book = broker.fetch_order_book()
        except BrokerUnavailable as exc:
            log.warning("sync %s: broker unavailable: %s", run.pk, exc)
            return _fail(ctx, run, str(exc))
        except Exception as exc:
            log.exception("sync %s: reading the %s book failed", run.pk, name)
            return _fail(ctx, run, f"{type(exc).__name__}: {exc}")
        reconciliation = Reconciliation(ctx, book, fetched_at=run.started_at, dry_run=dry_run)
        try:
            stats = reconciliation.run()
        except BaseException as exc:
            # Interrupted: each batch committed is whole and the open one rolled
            # back; record how far the run got, then let the signal through.
            _finish(run, SyncOutcome.FAILED, reconciliation.stats, f"interrupted: {exc!r}")
            raise
        if not dry_run:
            stats.update(state_problem_stats(run.pk))
        return _finish(run, SyncOutcome.OK, stats)


def sync_with_broker(manager, orders_api=None, broker_orders=None):
    """The old bot's entry point: returns the stats dict, plus outcome, error and sync_run_id.

    `broker_orders` is a list of raw Kotak rows (or a whole `order_report` body);
    `orders_api` is any object with `get_orders()` or `order_report()` returning
    that body. With neither, the configured broker is read.
    """
    if broker_orders is not None:
        broker = GivenBook(broker_orders)
    elif orders_api is not None:
        broker = OrdersApi(orders_api)
    else:
        broker = None
    run = run_sync(broker=broker, actor=manager.actor, account=manager.account)
    return {**run.stats, "outcome": run.outcome, "error": run.error, "sync_run_id": run.pk}


def state_problem_stats(run_id=None):
    """`check_state`'s findings after a run: their count and the count per code.

    One read-only pass (a few queries). A check that fails is logged and left out
    of the stats; the orders the run applied stay applied.
    """
    try:
        problems = find_problems()
    except Exception:
        log.exception("sync %s: checking the state after the run failed", run_id)
        return {}
    codes = Counter(problem.code for problem in problems)
    return {"state_problems": len(problems), "state_problem_codes": dict(sorted(codes.items()))}


def summary(run):
    """One line for logs and the command's output."""
    stats = run.stats or {}
    counts = " ".join(f"{key}={stats.get(key, 0)}" for key in STAT_KEYS + EXTRA_KEYS)
    dry = " (dry run)" if run.dry_run else ""
    error = f" error={run.error!r}" if run.error else ""
    problems = ""
    if "state_problems" in stats:
        codes = ",".join(f"{code}:{n}" for code, n in stats.get("state_problem_codes", {}).items())
        problems = f" state_problems={stats['state_problems']}" + (f" ({codes})" if codes else "")
    return f"sync #{run.pk} {run.broker} {run.outcome}{dry} {counts}{problems}{error}"


def _fail(ctx, run, error):
    """End a run whose book could not be read, and tell whoever listens (a `sync_failed`
    event, once per failure episode; a dry run tells no one)."""
    _finish(run, SyncOutcome.FAILED, empty_stats(), error)
    if not run.dry_run:
        notifications.record_sync_failed(ctx, run)
    return run


def _finish(run, outcome, stats, error=""):
    run.outcome = outcome
    run.stats = stats
    run.error = error
    run.finished_at = timezone.now()
    run.save(update_fields=["outcome", "stats", "error", "finished_at"])
    return run
