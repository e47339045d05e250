"""Checks that the whole state agrees with itself.

`find_problems()` is read-only and cheap (a few queries), so the sync can run
it after every run.
"""

from datetime import timedelta

from django.db.models import Count, F, Q
from django.utils import timezone

from orderstate.actions import failed_orders
from orderstate.checks import ledger, positions
from orderstate.checks.problem import Problem
from orderstate.models import FailedOrder, Order, Trade
from orderstate.states import ACTIVE, Status

DEFAULT_MAX_ACTIVE_DAYS = 5


def find_problems(max_active_days=DEFAULT_MAX_ACTIVE_DAYS, now=None):
    now = now or timezone.now()
    problems = []
    for check in (
        _sells_executed_with_trade_open,
        _unprotected_positions,
        _duplicate_open_trades,
        _trades_closed_without_sell,
        _sells_without_position,
        _filled_above_quantity,
        _expired_failed_orders,
        ledger.oversold,
        ledger.sell_coverage,
        ledger.ledger_disagrees,
        positions.mismatch_problems,
    ):
        problems.extend(check(now))
    problems.extend(_stale_active_orders(now, max_active_days))
    return problems


def _open_trades():
    """(account, symbol) -> (pk, entry_time, exit_order_id) of every open trade, as plain rows.

    The sync runs these checks after each run, so they compare plain tuples in
    Python: building model instances cost seconds at 10,000 trades, and a
    correlated anti-join is only fast once the planner has statistics, which a
    freshly loaded PostgreSQL table does not.
    """
    rows = Trade.objects.open().values_list("account", "symbol", "pk", "entry_time", "exit_order")
    return {(account, symbol): rest for account, symbol, *rest in rows}


def _open_trade_keys():
    return set(Trade.objects.open().values_list("account", "symbol"))


def _active_sell_keys():
    return set(Order.objects.active().sells().values_list("account", "base_symbol"))


def _sells_executed_with_trade_open(now):
    open_trades = _open_trades()
    if not open_trades:
        return []
    # A sell before the oldest open trade was entered cannot belong to any of them.
    earliest = min(entry_time for _, entry_time, _ in open_trades.values())
    # Sells in the ledger moved their trade as they filled; the others are history that
    # never did (an import, a database from before the ledger).
    executed_sells = (
        Order.objects.sells()
        .filter(status=Status.EXECUTED, lots__isnull=True)
        .filter(Q(closed_at__gte=earliest) | Q(closed_at__isnull=True, placed_at__gte=earliest))
        .order_by("closed_at", "id")
        .values_list("pk", "account", "base_symbol", "broker_order_id", "closed_at", "placed_at")
    )
    problems = []
    for pk, account, base, order_id, closed_at, placed_at in executed_sells:
        trade = open_trades.get((account, base))
        if trade is None:
            continue
        trade_pk, entry_time, exit_order = trade
        if entry_time > (closed_at or placed_at) or exit_order == pk:
            continue
        problems.append(
            Problem(
                "sell_executed_trade_open",
                f"sell {order_id} of {base} executed but trade {trade_pk} is still open",
                {"order": [order_id], "trade": [trade_pk]},
                account,
            )
        )
    return problems


def _unprotected_positions(now):
    protected = _active_sell_keys()
    trades = (
        Trade.objects.open()
        .order_by("entry_time")
        .values_list("pk", "account", "symbol", "quantity", "closed_quantity")
    )
    return [
        Problem(
            "unprotected_position",
            f"open trade {pk} ({symbol} x{quantity - closed}) has no active sell order",
            {"trade": [pk]},
            account,
        )
        for pk, account, symbol, quantity, closed in trades
        if (account, symbol) not in protected and quantity > closed
    ]


def _duplicate_open_trades(now):
    # A database constraint forbids this; checked so a bypassed constraint shows up.
    groups = (
        Trade.objects.open().values("account", "symbol").annotate(n=Count("id")).filter(n__gt=1)
    )
    problems = []
    for group in groups:
        ids = list(
            Trade.objects.open()
            .filter(account=group["account"], symbol=group["symbol"])
            .values_list("pk", flat=True)
        )
        problems.append(
            Problem(
                "duplicate_open_trades",
                f"{group['symbol']} has {group['n']} open trades",
                {"trade": ids},
                group["account"],
            )
        )
    return problems


def _trades_closed_without_sell(now):
    return [
        Problem(
            "trade_closed_without_sell",
            f"trade {trade.pk} ({trade.symbol}) is closed without a sell order"
            + (
                f" (history names sell {trade.metadata['sell_order_id']})"
                if trade.metadata.get("sell_order_id")
                else ""
            ),
            {"trade": [trade.pk]},
            trade.account,
        )
        for trade in Trade.objects.closed()
        .filter(exit_order__isnull=True)
        .exclude(exit_reason="position_adjusted")  # closed by a staff user's adjustment
        .order_by("entry_time")
    ]


def _sells_without_position(now):
    open_trades = _open_trade_keys()
    sells = (
        Order.objects.active()
        .tracked_sells()
        .order_by("placed_at")
        .values_list("account", "base_symbol", "broker_order_id")
    )
    return [
        Problem(
            "sell_without_position",
            f"active sell {order_id} of {base} has no open trade",
            {"order": [order_id]},
            account,
        )
        for account, base, order_id in sells
        if (account, base) not in open_trades
    ]


def _filled_above_quantity(now):
    # Database constraints forbid both; checked so a bypassed constraint shows up.
    orders = Order.objects.filter(filled_quantity__gt=F("quantity"))
    trades = Trade.objects.filter(closed_quantity__gt=F("quantity"))
    return [
        Problem(
            "filled_above_quantity",
            f"order {o.broker_order_id} filled {o.filled_quantity} of {o.quantity}",
            {"order": [o.broker_order_id]},
            o.account,
        )
        for o in orders
    ] + [
        Problem(
            "filled_above_quantity",
            f"trade {t.pk} closed {t.closed_quantity} of {t.quantity}",
            {"trade": [t.pk]},
            t.account,
        )
        for t in trades
    ]


def _expired_failed_orders(now):
    return [
        Problem(
            "failed_order_expired",
            f"failed order {entry.pk} ({entry.symbol}) is still waiting after its expiry "
            f"{failed_orders.expires_at(entry).isoformat()}",
            {"failed_order": [entry.pk]},
            entry.account,
        )
        for entry in FailedOrder.objects.waiting().order_by("first_failed_at")
        if not failed_orders.is_valid(entry, now)
    ]


def _stale_active_orders(now, max_days):
    cutoff = now - timedelta(days=max_days)
    stale = Order.objects.filter(status__in=ACTIVE, placed_at__lt=cutoff).order_by("placed_at")
    return [
        Problem(
            "stale_active_order",
            f"{order.side} {order.broker_order_id} of {order.base_symbol} is {order.status} "
            f"since {order.placed_at:%Y-%m-%d} (over {max_days} days)",
            {"order": [order.broker_order_id]},
            order.account,
        )
        for order in stale
    ]
