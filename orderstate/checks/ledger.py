"""Checks of the lot ledger against itself and against the bot's sell orders.

Each reads a few aggregates over the open end of the ledger (the partial index
of unmatched lots) and the open trades, never the closed past, so the sync can
run them after every run.
"""

from collections import defaultdict

from django.db.models import F, Sum

from orderstate.checks.problem import Problem
from orderstate.models import Lot, Order, Position, Side, Trade


def oversold(now):
    """Every unmatched sell lot: shares sold that no recorded buy covers, yet."""
    rows = (
        Lot.objects.filter(side=Side.SELL, open_quantity__gt=0)
        .order_by("at", "id")
        .values_list("account", "symbol", "open_quantity", "order__broker_order_id")
    )
    by_symbol = defaultdict(lambda: [0, []])
    for account, symbol, quantity, order_id in rows:
        by_symbol[account, symbol][0] += quantity
        if order_id:
            by_symbol[account, symbol][1].append(order_id)
    return [
        Problem(
            "oversold",
            f"{symbol} is oversold by {quantity}: sell {', '.join(order_ids) or '(no order)'} "
            "sold shares no recorded buy covers",
            {"order": order_ids},
            account,
        )
        for (account, symbol), (quantity, order_ids) in sorted(by_symbol.items())
    ]


def sell_coverage(now):
    """The bot's active sell against what is held: it should cover the position, no more."""
    held = dict(
        ((account, symbol), net)
        for account, symbol, net in Position.objects.filter(net_quantity__gt=0).values_list(
            "account", "symbol", "net_quantity"
        )
    )
    sells = (
        Order.objects.active()
        .tracked_sells()
        .annotate(remaining=F("quantity") - F("filled_quantity"))
        .values_list("account", "base_symbol", "broker_order_id", "remaining")
    )
    problems = []
    for account, symbol, order_id, remaining in sells:
        holding = held.get((account, symbol), 0)
        if not holding:
            continue  # a sell with nothing held is `sell_without_position`
        if remaining > holding:
            problems.append(
                Problem(
                    "sell_exceeds_position",
                    f"active sell {order_id} of {symbol} covers {remaining} but {holding} are held",
                    {"order": [order_id]},
                    account,
                )
            )
        elif remaining < holding:
            problems.append(
                Problem(
                    "position_not_covered",
                    f"{holding} {symbol} are held but active sell {order_id} covers {remaining}",
                    {"order": [order_id]},
                    account,
                )
            )
    return problems


def ledger_disagrees(now):
    """Each position's net quantity, its open lots and its open trade tell one story."""
    open_lots = defaultdict(int)
    rows = (
        Lot.objects.filter(open_quantity__gt=0)
        .values_list("account", "symbol", "side")
        .annotate(total=Sum("open_quantity"))
        .order_by()
    )
    for account, symbol, side, total in rows:
        open_lots[account, symbol] += total if side == Side.BUY else -total
    open_trades = {
        (account, symbol): (pk, quantity - closed)
        for pk, account, symbol, quantity, closed in Trade.objects.open().values_list(
            "pk", "account", "symbol", "quantity", "closed_quantity"
        )
    }
    problems = []
    positions = Position.objects.exclude(net_quantity=0, open_trade__isnull=True)
    keys = {(p.account, p.symbol) for p in positions} | set(open_lots) | set(open_trades)
    nets = {(p.account, p.symbol): p.net_quantity for p in positions}
    for account, symbol in sorted(keys):
        net = nets.get((account, symbol), 0)
        lots = open_lots.get((account, symbol), 0)
        trade_pk, trade_open = open_trades.get((account, symbol), (None, 0))
        if net != lots or max(net, 0) != trade_open:
            ids = {"symbol": [symbol], **({"trade": [trade_pk]} if trade_pk else {})}
            problems.append(
                Problem(
                    "ledger_trade_mismatch",
                    f"{symbol}: the ledger holds {net}, its open lots {lots}, "
                    f"its open trade {trade_open}",
                    ids,
                    account,
                )
            )
    return problems
