"""The failed-buy queue: one waiting entry per symbol, valid until the next market open.

An entry is valid on the IST day it first failed, and on the next day until the
market opens (09:15 IST), whatever the server's own time zone.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orderstate.errors import DuplicateOrder, InvalidTransition, OrderNotFound
from orderstate.legacy import shapes
from orderstate.models import EventKind, FailedOrder, FailedOrderStatus
from orderstate.validation import (
    parse_optional_price,
    parse_order_id,
    parse_quantity,
    parse_reason,
    parse_symbol,
)

IST = ZoneInfo("Asia/Kolkata")


def market_open():
    hours, minutes = settings.MARKET_OPEN.split(":")
    return time(int(hours), int(minutes))


def _ist(now):
    now = now or timezone.now()
    if timezone.is_naive(now):
        now = now.replace(tzinfo=IST)
    return now.astimezone(IST)


def is_valid(entry, now=None):
    now = _ist(now)
    failed_on = entry.first_failed_at.astimezone(IST).date()
    today = now.date()
    if failed_on >= today:
        return True
    return failed_on == today - timedelta(days=1) and now.time() < market_open()


def expires_at(entry):
    """The moment the entry stops being retried: the next day's market open, IST."""
    next_day = entry.first_failed_at.astimezone(IST).date() + timedelta(days=1)
    return datetime.combine(next_day, market_open(), tzinfo=IST)


def add(manager, symbol, ticker, qty, close, reason, metadata, now=None):
    trading_symbol, base = parse_symbol(symbol)
    fields = {
        "trading_symbol": trading_symbol,
        "ticker": (ticker or "").strip()[:40],
        "quantity": parse_quantity(qty),
        "reference_price": parse_optional_price(close, "close"),
        "reason": parse_reason(reason, max_length=2000),
    }
    now = now or timezone.now()
    with transaction.atomic():
        entry = _waiting(manager.account, base)
        if entry is not None and not is_valid(entry, now):
            _move(manager, entry, FailedOrderStatus.EXPIRED, now)
            entry = None
        if entry is None:
            try:
                with transaction.atomic():
                    entry = FailedOrder.objects.create(
                        account=manager.account,
                        symbol=base,
                        first_failed_at=now,
                        updated_at=now,
                        metadata=metadata,
                        **fields,
                    )
                _event(manager, entry, "", entry.status, {"reason": entry.reason})
                return entry
            except IntegrityError:
                # Another process queued the symbol after our read: update theirs.
                entry = _waiting(manager.account, base)
                if entry is None:
                    # ...and resolved it again before we could lock it.
                    raise DuplicateOrder(
                        f"{base} was queued and resolved meanwhile; retry"
                    ) from None
        # A repeat that leaves out the ticker, close or reason keeps the recorded ones.
        for name, value in fields.items():
            if value not in ("", None):
                setattr(entry, name, value)
        entry.metadata = {**entry.metadata, **metadata}
        entry.retry_count += 1
        entry.last_retry_at = now
        entry.updated_at = now
        entry.save()
        _event(manager, entry, entry.status, entry.status, {"retry_count": entry.retry_count})
    return entry


def valid_entries(account, now=None):
    waiting = FailedOrder.objects.waiting().filter(account=account).order_by("first_failed_at")
    return [shapes.failed_order(entry) for entry in waiting if is_valid(entry, now)]


def expire(manager, now=None):
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        waiting = FailedOrder.objects.select_for_update().waiting().filter(account=manager.account)
        for entry in waiting:
            if not is_valid(entry, now):
                _move(manager, entry, FailedOrderStatus.EXPIRED, now)
                count += 1
    return count


def mark_retried(manager, symbol, order_id):
    """The retry placed `order_id`; False when the symbol has no waiting entry."""
    return _resolve(manager, symbol, order_id, FailedOrderStatus.RETRIED)


def mark_bought_manually(manager, symbol, order_id):
    return _resolve(manager, symbol, order_id, FailedOrderStatus.BOUGHT_MANUALLY)


def drop(manager, entry_id):
    """Take an entry out of the queue by hand (dashboard, API DELETE)."""
    with transaction.atomic():
        entry = FailedOrder.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None or entry.status != FailedOrderStatus.WAITING:
            return False
        _move(manager, entry, FailedOrderStatus.EXPIRED, timezone.now(), reason="dropped")
    return True


def requeue(manager, entry_id, now=None):
    """Give an expired or dropped entry a fresh window until the next market open.

    The window is counted from `first_failed_at`, so it restarts now; the
    original first failure is kept in the metadata. A bought entry stays closed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        entry = FailedOrder.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None:
            raise OrderNotFound(f"no failed order with id {entry_id}")
        if entry.status == FailedOrderStatus.WAITING and is_valid(entry, now):
            return entry
        if entry.status in (FailedOrderStatus.RETRIED, FailedOrderStatus.BOUGHT_MANUALLY):
            raise InvalidTransition(
                f"failed order {entry.pk} for {entry.symbol} was already "
                f"{entry.get_status_display().lower()}; it cannot be retried again"
            )
        previous = entry.status
        try:
            with transaction.atomic():
                entry.reopen(now)
        except IntegrityError:
            raise DuplicateOrder(
                f"{entry.symbol} already has a waiting failed order; drop it first"
            ) from None
        _event(manager, entry, previous, entry.status, {"requeued": True})
    return entry


def _resolve(manager, symbol, order_id, status):
    base = parse_symbol(symbol)[1]
    order_id = parse_order_id(order_id)
    with transaction.atomic():
        entry = _waiting(manager.account, base)
        if entry is None:
            return False
        entry.retry_order_id = order_id
        _move(manager, entry, status, timezone.now(), order_id=order_id)
    return True


def _waiting(account, base):
    return (
        FailedOrder.objects.select_for_update()
        .waiting()
        .filter(account=account, symbol=base)
        .first()
    )


def _move(manager, entry, status, now, **data):
    previous = entry.status
    entry.move_to(status, now)
    _event(manager, entry, previous, status, data)


def _event(manager, entry, from_status, to_status, data):
    manager.log_event(
        None,
        EventKind.FAILED_ORDER,
        from_status,
        to_status,
        {"failed_order_id": entry.pk, "symbol": entry.symbol, **data},
    )
