"""What a person reads on Telegram: one line saying what happened, one saying when.

    SELL RELIANCE 10 @ ₹2,500.00 executed · P&L ₹1,240.00
    02 Dec 2026, 14:02:11 IST · order 2406120001

Money the Indian way and times in IST (`orderstate.display`, as on the dashboard).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from orderstate.display import as_decimal, inr, ist, short_duration
from orderstate.models import DEFAULT_ACCOUNT, EventKind, OrderEvent, Side

# A sell's realised P&L is in the position events written right after its fill.
POSITION_KINDS = (EventKind.TRADE_CLOSED, EventKind.TRADE_UPDATED)


def telegram_text(event, account):
    """The message for `event` (an OrderEvent with its order loaded), in two lines."""
    render = RENDERERS.get(event.kind)
    headline = render(event, event.data or {}) if render else _default(event)
    when = [ist(event.at)]
    if event.order is not None:
        when.append(f"order {event.order.broker_order_id}")
    if account and account != DEFAULT_ACCOUNT:
        when.append(f"account {account}")
    return f"{headline}\n{' · '.join(when)}"


def _order_line(order, quantity=None, price=None):
    """'SELL RELIANCE 10 @ ₹2,500.00' (no price for a market order)."""
    quantity = order.quantity if quantity is None else quantity
    price = order.price if price is None else price
    at = f" @ {inr(price)}" if as_decimal(price) else ""
    return f"{order.side} {order.base_symbol} {quantity}{at}"


def _with_pnl(event, text):
    pnl = realised_pnl(event)
    return f"{text} · P&L {inr(pnl)}" if pnl is not None else text


def realised_pnl(event):
    """The P&L a sell's fill realised, from the position events written beside it; or None."""
    if event.order is None or event.order.side != Side.SELL:
        return None
    following = (
        OrderEvent.objects.filter(order_id=event.order_id, id__gt=event.pk)
        .order_by("id")
        .values_list("kind", "data")[:10]
    )
    total = None
    for kind, data in following:
        if kind not in POSITION_KINDS:
            break
        pnl = as_decimal((data or {}).get("pnl"))
        if pnl is not None:
            total = (total or Decimal(0)) + pnl
    return total


def _executed(event, data):
    order = event.order
    return _with_pnl(event, f"{_order_line(order, price=order.average_price)} executed")


def _fill(event, data):
    order = event.order
    if "qty" in data:
        text = f"{_order_line(order, data['qty'], data.get('price'))} filled"
    else:
        filled = data.get("filled_quantity", order.filled_quantity)
        text = f"{order.side} {order.base_symbol} {filled} of {order.quantity} filled"
    return _with_pnl(event, text)


def _late_fill(event, data):
    order = event.order
    filled = data.get("filled_quantity", order.filled_quantity)
    was = (event.from_status or "closed").lower()
    text = f"Late fill: {order.side} {order.base_symbol} {filled} of {order.quantity} filled"
    return _with_pnl(event, f"{text} after it was {was}")


def _closed(word):
    def render(event, data):
        reason = data.get("reason") or event.order.status_reason
        text = f"{_order_line(event.order)} {word}"
        return f"{text}: {reason}" if reason else text

    return render


def _manual_trade(event, data):
    side = data.get("side") or event.order.side
    quantity = data.get("quantity", event.order.filled_quantity)
    price = f" @ {inr(data['price'])}" if as_decimal(data.get("price")) else ""
    symbol = event.order.base_symbol
    return f"Manual {side} {symbol} {quantity}{price} at the broker (not placed by the bot)"


def _position_mismatch(event, data):
    return (
        f"Position mismatch {data.get('symbol', '?')}: orderstate holds {data.get('ours', '?')}, "
        f"the broker {data.get('broker', '?')}"
    )


def _sync_failed(event, data):
    broker = data.get("broker") or "the broker"
    return f"Sync with {broker} failed: {data.get('error') or 'no detail'}"


def _sync_stale(event, data):
    age = short_duration(timedelta(seconds=data.get("age_seconds", 0)))
    last = data.get("last_ok_at")
    since = f" (last at {ist(datetime.fromisoformat(last))})" if last else ""
    return f"No successful sync for {age}{since}"


def _feed_down(event, data):
    return f"Order feed down: {data.get('reason') or 'no detail'}"


def _test(event, data):
    return f"Test from orderstate for “{data.get('name', '?')}”: notifications reach this chat."


def _default(event):
    about = f" {event.order.base_symbol}" if event.order is not None else ""
    return f"{event.get_kind_display()}{about}"


RENDERERS = {
    EventKind.EXECUTED: _executed,
    EventKind.FILL: _fill,
    EventKind.LATE_FILL: _late_fill,
    EventKind.REJECTED: _closed("rejected"),
    EventKind.CANCELLED: _closed("cancelled"),
    EventKind.MANUAL_TRADE: _manual_trade,
    EventKind.POSITION_MISMATCH: _position_mismatch,
    EventKind.SYNC_FAILED: _sync_failed,
    EventKind.SYNC_STALE: _sync_stale,
    EventKind.FEED_DOWN: _feed_down,
    EventKind.NOTIFICATION_TEST: _test,
}
