"""Corrections of positions: the repairs `check_state --fix` makes, and an operator's notes.

Each repair is one the data itself determines (a sell that executed but never
closed its trade, a closed trade whose history names its sell); anything that
would need a guess is left to a person.
"""

from django.db import transaction
from django.utils import timezone

from orderstate.actions import ledger
from orderstate.actions.base import change_order, get_order, metadata_change, write_event
from orderstate.errors import InvalidTransition, OrderNotFound, ValidationError
from orderstate.models import EventKind, Side, Trade, TradeStatus
from orderstate.states import Status
from orderstate.validation import parse_metadata, parse_reason


def close_trade_from_sell(ctx, trade_id, order_id):
    """Book an executed sell on the open trade it sold, at the sell's average price.

    For history where the sell executed but the trade was never closed. A repeat
    is a no-op; a sell without an execution price is refused, never guessed.
    """
    with transaction.atomic(durable=True):
        # The order first, then its trade: the order in which fills lock them.
        order = get_order(ctx.in_account(_trade_account(trade_id)), order_id, lock=True)
        trade = _locked_trade(trade_id)
        if trade.exit_order_id == order.pk:
            return trade
        if not (
            order.side == Side.SELL
            and order.status == Status.EXECUTED
            and order.base_symbol == trade.symbol
            and trade.status == TradeStatus.OPEN
        ):
            raise InvalidTransition(
                f"order {order.broker_order_id} is not an executed sell of open trade "
                f"{trade.pk} ({trade.symbol})"
            )
        if order.average_price is None:
            raise ValidationError(
                f"order {order.broker_order_id} has no execution price to close the trade at"
            )
        if order.lots.exists():
            raise InvalidTransition(f"order {order.broker_order_id} is already in the ledger")
        sold = min(order.filled_quantity, trade.open_quantity)
        at = max(order.closed_at or timezone.now(), trade.entry_time)
        changes = ledger.post_fills(order, [ledger.Part(sold, order.average_price, at)])
        data = {"trade_id": trade.pk, "quantity": sold, "repair": True}
        data["pnl"] = changes[0].data["pnl"]
        change_order(ctx, order, EventKind.TRADE_CLOSED, data=data, trade=trade)
        trade.refresh_from_db()
    return trade


def link_trade_exit(ctx, trade_id, order_id):
    """Link a closed trade to the sell order that closed it, named in its history."""
    with transaction.atomic(durable=True):
        order = get_order(ctx.in_account(_trade_account(trade_id)), order_id, lock=True)
        trade = _locked_trade(trade_id)
        if trade.exit_order_id == order.pk:
            return trade
        if trade.status != TradeStatus.CLOSED or trade.exit_order_id is not None:
            raise InvalidTransition(f"trade {trade.pk} is not a closed trade without a sell")
        if order.side != Side.SELL or order.base_symbol != trade.symbol:
            raise ValidationError(f"order {order.broker_order_id} is not a sell of {trade.symbol}")
        trade.exit_order = order
        trade.updated_at = timezone.now()
        trade.save(update_fields=["exit_order", "updated_at"])
        data = {"trade_id": trade.pk, "repair": True}
        change_order(ctx, order, EventKind.TRADE_CLOSED, data=data, trade=trade)
    return trade


def update_trade_notes(ctx, trade_id, metadata, exit_reason):
    """Replace a trade's metadata and exit reason (what an operator may edit), audited.

    Quantities, prices and P&L stay as the fills made them.
    """
    metadata = parse_metadata(metadata)
    exit_reason = parse_reason(exit_reason, "exit_reason", max_length=200)
    with transaction.atomic(durable=True):
        trade = _locked_trade(trade_id)
        data = metadata_change(trade.metadata, metadata)
        if exit_reason != trade.exit_reason:
            data["exit_reason"] = {"from": trade.exit_reason, "to": exit_reason}
        if not data:
            return trade
        trade.metadata = metadata
        trade.exit_reason = exit_reason
        trade.updated_at = timezone.now()
        trade.save(update_fields=["metadata", "exit_reason", "updated_at"])
        note = {"trade_id": trade.pk, "symbol": trade.symbol, **data}
        write_event(ctx.in_account(trade.account), None, EventKind.NOTE, "", "", note)
    return trade


def _trade_account(trade_id):
    account = Trade.objects.filter(pk=trade_id).values_list("account", flat=True).first()
    if account is None:
        raise OrderNotFound(f"no trade with id {trade_id}")
    return account


def _locked_trade(trade_id):
    trade = Trade.objects.select_for_update().filter(pk=trade_id).first()
    if trade is None:
        raise OrderNotFound(f"no trade with id {trade_id}")
    return trade
