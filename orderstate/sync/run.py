"""A sync run: the broker's books fetched once, reconciled under the single-instance lock,
and recorded as a SyncRun with its counts (DESIGN.md, "Broker sync").

The order book, the trade book and the account's holdings are fetched before
any transaction. An order book that cannot be read ends the run as failed,
changes nothing, and writes a `sync_failed` event (once per failure episode)
for notifications; a trade book or holdings that cannot be read leave the run to
the order book's cumulative figures and skip the positions check, saying so in
the stats. After the changes, the ledger's positions are compared with the
broker's (`checks.positions`).

"Sync now" (the dashboard, `POST /api/v1/sync/`) does not sync in the web
worker: `request_sync` stores a request (a SyncRun in outcome `requested`) that
the running `sync_broker --loop` picks up and runs into the same row.
"""

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.brokers import get_broker
from orderstate.brokers.base import BrokerLoginRefused, BrokerUnavailable
from orderstate.checks import find_problems
from orderstate.checks.positions import compare_positions, latest_mismatches
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
    request=None,
):
    """One reconciliation under the single-instance lock; returns the stored SyncRun.

    `broker` (an object with `fetch_order_book()`) overrides `broker_name`.
    The outcome is ok, failed (the broker could not be read: nothing changed),
    or skipped (another sync holds the lock). `request` (a requested SyncRun)
    is run into its own row, with its user, source, account and dry-run flag;
    while another sync holds the lock it stays requested.
    """
    name = getattr(broker, "name", None) or broker_name or settings.ORDERSTATE_BROKER
    account = account or settings.ORDERSTATE_DEFAULT_ACCOUNT
    if request is not None:
        dry_run, actor = request.dry_run, request.requested_by
        source = request.request_source or EventSource.API
        account = request.account or account
    with single_instance(LOCK_NAME) as acquired:
        if not acquired:
            if request is not None:
                return request
            return SyncRun.objects.create(
                broker=name,
                account=account,
                dry_run=dry_run,
                outcome=SyncOutcome.SKIPPED,
                finished_at=timezone.now(),
                stats=empty_stats(),
                error="another sync is running; skipped",
            )
        _close_abandoned()
        if request is None:
            run = SyncRun.objects.create(broker=name, account=account, dry_run=dry_run)
        else:
            run = _claim(request, name)
            if run is None:
                request.refresh_from_db()
                return request
        ctx = Context.of(source, actor, account)
        try:
            broker = broker or get_broker(name)
            books = fetch_books(broker, dry_run)
        except BrokerLoginRefused as exc:
            log.error("sync %s: the broker refused the login: %s", run.pk, exc)
            return _finish(run, SyncOutcome.FAILED, {**empty_stats(), "login_refused": 1}, str(exc))
        except BrokerUnavailable as exc:
            log.warning("sync %s: broker unavailable: %s", run.pk, exc)
            return _fail(ctx, run, str(exc))
        except Exception as exc:
            log.exception("sync %s: reading the %s book failed", run.pk, name)
            return _fail(ctx, run, f"{type(exc).__name__}: {exc}")
        reconciliation = Reconciliation(
            ctx, books.orders, fetched_at=run.started_at, dry_run=dry_run, trades=books.trades
        )
        try:
            stats = reconciliation.run()
        except BaseException as exc:
            # Interrupted: each batch committed is whole and the open one rolled
            # back; record how far the run got, then let the signal through.
            _finish(run, SyncOutcome.FAILED, reconciliation.stats, f"interrupted: {exc!r}")
            raise
        stats.update(books.notes)
        if dry_run:
            return _finish(run, SyncOutcome.OK, stats)
        if books.holdings is not None:
            known = {(row.symbol, row.ours, row.broker) for row in latest_mismatches(account)}
            stats.update(compare_positions(account, books.holdings))
            _announce_new_mismatches(ctx, stats["position_mismatches"], known)
        _finish(run, SyncOutcome.OK, stats)
        # After the run is stored: check_state reads the positions check it holds.
        run.stats = {**stats, **state_problem_stats(run.pk)}
        run.save(update_fields=["stats"])
        return run


class Books:
    """What one run read from the broker: the order book, and where the broker has
    them, its trade book and holdings (None when not read), with notes on why not."""

    def __init__(self, orders, trades=None, holdings=None, notes=None):
        self.orders = orders
        self.trades = trades
        self.holdings = holdings
        self.notes = notes or {}


def fetch_books(broker, dry_run=False):
    """The order book (its failure fails the run), then the optional books."""
    books = Books(broker.fetch_order_book())
    books.trades = _optional(broker, "fetch_trade_book", "trade_book", books.notes)
    if not dry_run:
        books.holdings = _optional(broker, "fetch_holdings", "positions_check", books.notes)
    return books


def _optional(broker, method, note, notes):
    fetch = getattr(broker, method, None)
    if fetch is None:
        notes[note] = f"not available from the {getattr(broker, 'name', 'given')} broker"
        return None
    try:
        return fetch()
    except BrokerLoginRefused:
        raise
    except BrokerUnavailable as exc:
        log.warning("sync: %s unavailable: %s", note, exc)
        notes[note] = f"unavailable: {exc}"[:500]
        return None


def request_sync(*, actor=None, source=EventSource.API, account=None, dry_run=False):
    """Hand a sync to the running `sync_broker --loop`: a SyncRun in outcome requested."""
    return SyncRun.objects.create(
        broker=settings.ORDERSTATE_BROKER,
        outcome=SyncOutcome.REQUESTED,
        dry_run=dry_run,
        requested_at=timezone.now(),
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        request_source=source,
        account=account or settings.ORDERSTATE_DEFAULT_ACCOUNT,
    )


def next_request():
    """The oldest sync request waiting, or None."""
    waiting = SyncRun.objects.filter(outcome=SyncOutcome.REQUESTED)
    return waiting.order_by("requested_at", "id").first()


def _claim(request, name):
    """The request, now running; None when another process took it first."""
    now = timezone.now()
    taken = SyncRun.objects.filter(pk=request.pk, outcome=SyncOutcome.REQUESTED).update(
        outcome=SyncOutcome.RUNNING, started_at=now, broker=name
    )
    if taken != 1:
        return None
    request.outcome, request.started_at, request.broker = SyncOutcome.RUNNING, now, name
    return request


def _close_abandoned():
    """Holding the lock, no other run can be live: a RUNNING one was cut off (the process
    was killed). A request no sync process picked up in time is closed too."""
    now = timezone.now()
    SyncRun.objects.filter(outcome=SyncOutcome.RUNNING).update(
        outcome=SyncOutcome.FAILED,
        finished_at=now,
        error="abandoned: the process ended during the run",
    )
    timeout = settings.ORDERSTATE_SYNC_REQUEST_TIMEOUT
    SyncRun.objects.filter(
        outcome=SyncOutcome.REQUESTED, requested_at__lt=now - timedelta(seconds=timeout)
    ).update(
        outcome=SyncOutcome.FAILED,
        finished_at=now,
        error=f"no sync process (sync_broker --loop) picked up the request within {timeout} s",
    )


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
    if "position_mismatches" in stats:
        mismatches = stats["position_mismatches"]
        symbols = ",".join(row["symbol"] for row in mismatches)
        error = (
            f" position_mismatches={len(mismatches)}" + (f" ({symbols})" if symbols else "") + error
        )
    problems = ""
    if "state_problems" in stats:
        codes = ",".join(f"{code}:{n}" for code, n in stats.get("state_problem_codes", {}).items())
        problems = f" state_problems={stats['state_problems']}" + (f" ({codes})" if codes else "")
    return f"sync #{run.pk} {run.broker} {run.outcome}{dry} {counts}{problems}{error}"


def _announce_new_mismatches(ctx, mismatches, known):
    """A `position_mismatch` event for each mismatch the previous check did not already
    show, so a notification goes out once per mismatch, not once per sync."""
    for row in mismatches:
        if (row["symbol"], row["ours"], row["broker"]) not in known:
            notifications.record_position_mismatch(
                ctx, row["symbol"], row["ours"], row["broker"], outside=row["outside"]
            )


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
