"""What a staff user decides about a position the broker disagrees with (the positions
check, `checks.positions`): accept the broker's quantity, or confirm the broker's extra
shares as held outside orderstate. Nothing here runs on its own; each call names its user.
"""

from django.db import transaction
from django.utils import timezone

from orderstate.actions import ledger
from orderstate.actions.base import write_event
from orderstate.errors import ValidationError
from orderstate.models import EventKind, Lot, LotSource, OutsideHolding, Side
from orderstate.validation import parse_price, parse_quantity, parse_symbol


def accept_broker_quantity(ctx, symbol, broker_quantity, price):
    """Post the lot that makes the ledger hold what the broker holds, less the extra
    confirmed as outside orderstate; returns the lot, or None when they agree already.

    `price` is the adjusting lot's price (what the shares cost, or fetched): a buy
    adjustment is the cost of the shares the ledger missed, a sell adjustment
    realises P&L against the oldest lots, as any sell does.
    """
    base = parse_symbol(symbol)[1]
    broker_quantity = parse_quantity(broker_quantity, "broker_quantity", allow_zero=True)
    price = parse_price(price, "price", places=4)
    with transaction.atomic(durable=True):
        position = ledger.lock_position(ctx.account, base)
        outside = _outside(ctx.account, base, lock=True)
        confirmed = outside.quantity if outside is not None else 0
        target = broker_quantity - confirmed
        if target < 0:
            raise ValidationError(
                f"broker_quantity: {broker_quantity} is less than the {confirmed} {base} "
                "confirmed as held outside orderstate; confirm the outside quantity again first",
                fields={"broker_quantity": [f"at least {confirmed}"]},
            )
        before = position.net_quantity
        difference = target - before
        if difference == 0:
            return None
        lot = Lot(
            account=ctx.account,
            symbol=base,
            side=Side.BUY if difference > 0 else Side.SELL,
            quantity=abs(difference),
            price=price,
            at=timezone.now(),
            source=LotSource.ADJUSTMENT,
            open_quantity=abs(difference),
        )
        ledger.post(lot)
        write_event(
            ctx,
            None,
            EventKind.POSITION_ADJUSTED,
            "",
            "",
            {
                "symbol": base,
                "from": before,
                "to": target,
                "broker": broker_quantity,
                "outside": confirmed,
                "price": str(price),
                "lot": lot.pk,
                "by": _name(ctx.actor),
            },
        )
    return lot


def confirm_outside(ctx, symbol, broker_quantity):
    """Record the broker's shares beyond the ledger's as held outside orderstate (a trader's
    own portfolio); from then on the check flags only a change of that extra."""
    base = parse_symbol(symbol)[1]
    broker_quantity = parse_quantity(broker_quantity, "broker_quantity", allow_zero=True)
    with transaction.atomic(durable=True):
        position = ledger.lock_position(ctx.account, base)
        extra = broker_quantity - position.net_quantity
        if extra < 0:
            raise ValidationError(
                f"broker_quantity: the broker holds {broker_quantity} {base}, less than the "
                f"{position.net_quantity} orderstate holds; that is never held outside",
                fields={"broker_quantity": [f"at least {position.net_quantity}"]},
            )
        outside = _outside(ctx.account, base, lock=True)
        previous = outside.quantity if outside is not None else None
        if outside is None:
            outside = OutsideHolding(account=ctx.account, symbol=base, quantity=extra)
        outside.quantity = extra
        outside.confirmed_by = ctx.actor
        outside.confirmed_at = timezone.now()
        outside.save()
        write_event(
            ctx,
            None,
            EventKind.OUTSIDE_CONFIRMED,
            "",
            "",
            {
                "symbol": base,
                "quantity": extra,
                "previous": previous,
                "broker": broker_quantity,
                "ours": position.net_quantity,
                "by": _name(ctx.actor),
            },
        )
    return outside


def _outside(account, symbol, *, lock=False):
    rows = OutsideHolding.objects.select_for_update() if lock else OutsideHolding.objects
    return rows.filter(account=account, symbol=symbol).first()


def _name(actor):
    return actor.get_username() if actor is not None else None
