"""The failed-buy queue: one waiting entry per symbol, valid until the next market open.

An entry that first failed at moment T is retried until the first market open
strictly after T, on NSE's trading calendar (`orderstate.market`: weekends and
NSE holidays skipped, the settings' extra holidays and trading days applied), in
IST whatever the server's own time zone.
"""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orderstate import market
from orderstate.actions.base import metadata_change, write_event
from orderstate.errors import DuplicateOrder, InvalidTransition, OrderNotFound
from orderstate.models import EventKind, FailedOrder, FailedOrderStatus
from orderstate.validation import (
    parse_metadata,
    parse_optional_price,
    parse_order_id,
    parse_quantity,
    parse_reason,
    parse_symbol,
    parse_ticker,
)


def is_valid(entry, now=None):
    """True until the entry's market open; a naive `now` is read as IST."""
    now = now or timezone.now()
    if timezone.is_naive(now):
        now = now.replace(tzinfo=market.IST)
    return now < expires_at(entry)


def expires_at(entry):
    """The moment the entry stops being retried: the first market open after it failed."""
    return market.next_market_open(
        entry.first_failed_at,
        open_time=settings.MARKET_OPEN,
        extra_holidays=settings.ORDERSTATE_EXTRA_HOLIDAYS,
        extra_trading_days=settings.ORDERSTATE_EXTRA_TRADING_DAYS,
    )


def add(ctx, symbol, ticker=None, qty=None, close=None, reason="", metadata=None, now=None):
    """Queue a buy that could not be placed; a repeat for a waiting symbol counts a retry."""
    trading_symbol, base = parse_symbol(symbol)
    fields = {
        "trading_symbol": trading_symbol,
        "ticker": parse_ticker(ticker),
        "quantity": parse_quantity(qty),
        "reference_price": parse_optional_price(close, "close"),
        "reason": parse_reason(reason, max_length=2000),
    }
    metadata = parse_metadata(metadata or {})
    now = now or timezone.now()
    # Locked: two processes queueing the same symbol must not both count one retry.
    with transaction.atomic(durable=True):
        entry = _waiting(ctx.account, base)
        if entry is not None and not is_valid(entry, now):
            _move(ctx, entry, FailedOrderStatus.EXPIRED, now)
            entry = None
        if entry is None:
            try:
                with transaction.atomic():
                    entry = FailedOrder.objects.create(
                        account=ctx.account,
                        symbol=base,
                        first_failed_at=now,
                        updated_at=now,
                        metadata=metadata,
                        **fields,
                    )
                _event(ctx, entry, "", entry.status, {"reason": entry.reason})
                return entry
            except IntegrityError:
                # Another process queued the symbol after our read: update theirs.
                entry = _waiting(ctx.account, base)
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
        _event(ctx, entry, entry.status, entry.status, {"retry_count": entry.retry_count})
    return entry


def valid_entries(account, now=None):
    """The waiting entries still valid now, oldest first."""
    waiting = FailedOrder.objects.waiting().filter(account=account).order_by("first_failed_at")
    return [entry for entry in waiting if is_valid(entry, now)]


def expire(ctx, now=None):
    """Mark every waiting entry past its market open EXPIRED; returns how many."""
    now = now or timezone.now()
    count = 0
    with transaction.atomic(durable=True):
        waiting = FailedOrder.objects.select_for_update().waiting().filter(account=ctx.account)
        for entry in waiting.order_by("pk"):
            if not is_valid(entry, now):
                _move(ctx, entry, FailedOrderStatus.EXPIRED, now)
                count += 1
    return count


def mark_retried(ctx, symbol, order_id):
    """The retry placed `order_id`; False when the symbol has no waiting entry."""
    with transaction.atomic(durable=True):
        return resolve(ctx, symbol, order_id)


def resolve(ctx, symbol, order_id, *, manual=False):
    """Close the symbol's waiting entry inside the caller's transaction: retried by the
    bot, or bought manually at the broker; False when nothing waits."""
    status = FailedOrderStatus.BOUGHT_MANUALLY if manual else FailedOrderStatus.RETRIED
    base = parse_symbol(symbol)[1]
    order_id = parse_order_id(order_id)
    entry = _waiting(ctx.account, base)
    if entry is None:
        return False
    entry.retry_order_id = order_id
    _move(ctx, entry, status, timezone.now(), order_id=order_id)
    return True


def drop(ctx, entry_id):
    """Take a waiting entry out of the queue by hand; False when it is not waiting."""
    with transaction.atomic(durable=True):
        entry = _locked(entry_id)
        if entry is None or entry.status != FailedOrderStatus.WAITING:
            return False
        _move(ctx, entry, FailedOrderStatus.EXPIRED, timezone.now(), reason="dropped")
    return True


def requeue(ctx, entry_id, now=None):
    """Give an expired or dropped entry a fresh window until the next market open.

    The window is counted from `first_failed_at`, so it restarts now; the
    original first failure is kept in the metadata. A bought entry stays closed.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        entry = _locked(entry_id)
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
        entry.metadata = {
            **entry.metadata,
            "first_failed_originally": entry.metadata.get(
                "first_failed_originally", entry.first_failed_at.isoformat()
            ),
        }
        entry.first_failed_at = now
        entry.retry_count += 1
        try:
            with transaction.atomic():
                _save_status(entry, FailedOrderStatus.WAITING, now)
        except IntegrityError:
            raise DuplicateOrder(
                f"{entry.symbol} already has a waiting failed order; drop it first"
            ) from None
        _event(ctx, entry, previous, entry.status, {"requeued": True})
    return entry


def update_metadata(ctx, entry_id, metadata):
    """Replace a queue entry's metadata (the admin's one editable field), audited."""
    metadata = parse_metadata(metadata)
    with transaction.atomic(durable=True):
        entry = _locked(entry_id)
        if entry is None:
            raise OrderNotFound(f"no failed order with id {entry_id}")
        if metadata == entry.metadata:
            return entry
        data = metadata_change(entry.metadata, metadata)
        entry.metadata = metadata
        entry.updated_at = timezone.now()
        entry.save(update_fields=["metadata", "updated_at"])
        _event(ctx, entry, entry.status, entry.status, data)
    return entry


def _locked(entry_id):
    return FailedOrder.objects.select_for_update().filter(pk=entry_id).first()


def _waiting(account, base):
    # At most one row (a partial unique constraint).
    return (
        FailedOrder.objects.select_for_update()
        .waiting()
        .filter(account=account, symbol=base)
        .first()
    )


def _move(ctx, entry, status, now, **data):
    previous = entry.status
    _save_status(entry, status, now)
    _event(ctx, entry, previous, status, data)


def _save_status(entry, status, now):
    entry.status = status
    if status != FailedOrderStatus.EXPIRED:
        entry.last_retry_at = now
    entry.updated_at = now
    entry.save()


def _event(ctx, entry, from_status, to_status, data):
    write_event(
        ctx,
        None,
        EventKind.FAILED_ORDER,
        from_status,
        to_status,
        {"failed_order_id": entry.pk, "symbol": entry.symbol, **data},
    )
