"""`check_state --fix`: the repairs the data itself determines, through the actions.

Anything that would need a guess is returned unrepaired, for a person.
"""

from orderstate.actions import failed_orders, ledger_rebuild, repairs
from orderstate.actions.base import Context
from orderstate.checks.problems import DEFAULT_MAX_ACTIVE_DAYS, find_problems
from orderstate.errors import OrderStateError
from orderstate.models import EventSource, Order, Side, Trade


def fix_problems(problems, max_active_days=DEFAULT_MAX_ACTIVE_DAYS, now=None, actor=None):
    """Repair what needs no guess; returns (fixed, remaining) lists of problems.

    The remaining ones are found again after the repairs, since one repair can
    settle another problem (a closed trade is no longer an unprotected position).
    """
    fixed, unrepaired = [], {}
    expired_accounts = set()
    for problem in problems:
        ctx = Context.of(EventSource.CLI, actor, problem.account)
        try:
            repaired = _repair(ctx, problem, now, expired_accounts)
        except OrderStateError as exc:
            problem.message += f" (not repaired: {exc.detail})"
            repaired = False
        if repaired:
            fixed.append(problem)
        else:
            unrepaired[_key(problem)] = problem
    remaining = [
        unrepaired.get(_key(problem), problem)
        for problem in find_problems(max_active_days=max_active_days, now=now)
    ]
    return fixed, remaining


def _key(problem):
    return (problem.code, problem.account, repr(sorted(problem.ids.items())))


def _repair(ctx, problem, now, expired_accounts):
    if problem.code == "failed_order_expired":
        if problem.account not in expired_accounts:
            expired_accounts.add(problem.account)
            failed_orders.expire(ctx, now)
        return True
    if problem.code == "sell_executed_trade_open":
        order = Order.objects.get(account=problem.account, broker_order_id=problem.ids["order"][0])
        if order.average_price is None:
            problem.message += " (no execution price recorded: close it by hand)"
            return False
        repairs.close_trade_from_sell(ctx, problem.ids["trade"][0], order.broker_order_id)
        return True
    if problem.code == "ledger_trade_mismatch":
        # The recorded fills decide: the ledger and its trades are derived from them again.
        ledger_rebuild.rebuild_ledger(ctx, problem.account, problem.ids["symbol"][0])
        return True
    if problem.code == "trade_closed_without_sell":
        trade = Trade.objects.get(pk=problem.ids["trade"][0])
        sell_id = trade.metadata.get("sell_order_id")
        sell = (
            Order.objects.filter(
                account=trade.account, broker_order_id=str(sell_id), side=Side.SELL
            ).first()
            if sell_id
            else None
        )
        if sell is None:
            return False
        repairs.link_trade_exit(ctx, trade.pk, sell.broker_order_id)
        return True
    return False
