"""The one broker rule: what a report asks of an order, and a dry run that promises what the
sync then does, on every recorded book."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from orderstate.actions.broker_rule import BrokerReport, broker_target
from orderstate.brokers.kotak_report import parse_order_report
from orderstate.errors import OrderStateError, ValidationError
from orderstate.manager import OrderStateManager
from orderstate.models import OrderEvent
from orderstate.states import Status
from orderstate.sync import run as sync
from orderstate.sync.reconcile import EXTRA_KEYS, STAT_KEYS
from tests.kotak_book import FIXTURES, load


def local(status=Status.OPEN, quantity=10, filled=0, price=Decimal("100.00"), **extra):
    """A local order as the rule reads it."""
    fields = {
        "broker_order_id": "1",
        "status": status,
        "quantity": quantity,
        "filled_quantity": filled,
        "broker_filled_quantity": 0,
        "exact_filled_quantity": 0,
        "price": price,
        "broker_status": "open",
    }
    return SimpleNamespace(**{**fields, **extra})


def report(status, filled=0, price=None, text="open"):
    return BrokerReport(status=status, filled_quantity=filled, price=price, broker_status=text)


def test_pending_report_keeps_a_pending_order_pending():
    target = broker_target(local(Status.PENDING), report(Status.PENDING))

    assert (target.status, target.changes) == (Status.PENDING, ())


def test_open_report_opens_a_pending_order():
    target = broker_target(local(Status.PENDING), report(Status.OPEN))

    assert (target.status, target.changes) == (Status.OPEN, ("open",))


def test_pending_report_never_moves_an_open_order_back():
    target = broker_target(local(Status.OPEN), report(Status.PENDING))

    assert (target.status, target.changes) == (Status.OPEN, ())


def test_fewer_fills_at_the_broker_never_lower_ours():
    target = broker_target(local(Status.PARTIALLY_FILLED, filled=6), report(Status.OPEN, 4))

    assert (target.status, target.filled, target.changes) == (Status.PARTIALLY_FILLED, 6, ())


def test_more_fills_on_an_order_we_cancelled_are_a_late_fill():
    target = broker_target(local(Status.CANCELLED), report(Status.EXECUTED, 10, text="complete"))

    assert (target.filled, target.late_fill, target.changes) == (10, True, ("late_fill",))


def test_a_new_limit_price_at_the_broker_is_a_change():
    target = broker_target(local(), report(Status.OPEN, price=Decimal("101.50")))

    assert (target.price, target.changes) == (Decimal("101.50"), ("price_updated",))


def test_unknown_status_moves_no_status_but_is_counted():
    target = broker_target(local(), report(None, text="gone fishing"))

    assert (target.status, target.changes, target.text_changed) == (
        Status.OPEN,
        ("unknown_status",),
        True,
    )


def test_fills_under_an_unknown_status_are_applied_and_the_order_stays_active():
    target = broker_target(local(), report(None, 4, text="gone fishing"))

    assert (target.status, target.filled) == (Status.PARTIALLY_FILLED, 4)
    assert target.changes == ("unknown_status", "partially_filled")


def test_every_share_filled_under_an_unknown_status_executes_the_order():
    target = broker_target(local(filled=4), report(None, 10, text="gone fishing"))

    assert (target.status, target.filled) == (Status.EXECUTED, 10)


def test_an_unknown_status_never_moves_a_pending_order_on_words_alone():
    target = broker_target(local(Status.PENDING), report(None, text="gone fishing"))

    assert (target.status, target.changes) == (Status.PENDING, ("unknown_status",))


def test_more_filled_than_ordered_is_refused():
    with pytest.raises(ValidationError, match="11 filled of 10"):
        broker_target(local(), report(Status.OPEN, 11))


@pytest.mark.django_db
def test_applying_a_pending_report_leaves_a_pending_order_untouched():
    manager = OrderStateManager(source="sync")
    manager.register_sell_order("TCS-EQ", "S-1", "3900.00", 5)

    order, changes = manager.apply_broker_update(
        "S-1", status=Status.PENDING, filled_quantity=0, broker_status="open pending"
    )

    assert (order.status, order.version, changes) == (Status.PENDING, 1, [])
    assert OrderEvent.objects.filter(order=order).count() == 1  # registered, nothing since


def recorded_books():
    """Every recorded order book the parser reads as a book (not an error body)."""
    names = []
    for path in sorted(FIXTURES.glob("order_report_*.json")):
        try:
            if len(parse_order_report(load(path.stem))):
                names.append(path.stem)
        except OrderStateError:
            continue
        except Exception:  # an error body (BrokerUnavailable): not a book
            continue
    return names


def prepare_local_state(manager, book):
    """Local orders as a bot leaves them: most rows registered (some still PENDING, some
    OPEN), some cancelled by us, the rest unknown; a position and a failed buy for manual
    trades."""
    for index, row in enumerate(book):
        if index % 4 == 3:
            continue  # left for the sync to find as an external order
        status = Status.OPEN if index % 2 else Status.PENDING
        try:
            manager.register_order(
                row.side,
                row.symbol,
                row.order_id,
                row.price
                if row.price and row.price == row.price.quantize(Decimal("0.01"))
                else None,
                row.quantity,
                order_type="LIMIT" if row.price else "MARKET",
                status=status,
            )
        except OrderStateError:
            continue  # e.g. a second active sell for one symbol: the bot would not have it
        if index % 5 == 2:
            manager.cancel_order(row.order_id, reason="stopped tracking")
    for row in book:
        if row.side == "SELL":
            manager.register_buy_order(row.symbol, f"HELD-{row.order_id}", "1.00", row.quantity)
            manager.mark_order_executed(row.symbol, f"HELD-{row.order_id}", "1.00")
            break
    for row in book:
        if row.side == "BUY":
            manager.add_failed_order(row.symbol, qty=row.quantity, reason="funds")
            break


def counts(run):
    return {key: run.stats.get(key, 0) for key in STAT_KEYS + EXTRA_KEYS}


@pytest.mark.django_db
@pytest.mark.parametrize("name", recorded_books())
def test_dry_run_promises_what_the_sync_then_does(name):
    body = load(name)
    manager = OrderStateManager(source="bot")
    prepare_local_state(manager, parse_order_report(body))

    promised = sync.run_sync(broker=sync.GivenBook(body), dry_run=True)
    done = sync.run_sync(broker=sync.GivenBook(body))

    assert counts(promised) == counts(done)
    assert sum(counts(done).values()) > counts(done)["checked"]  # the book changed something
