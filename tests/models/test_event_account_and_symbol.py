"""Every event carries the account and base symbol it is about, order or no order."""

import pytest

from orderstate.actions import ledger_rebuild
from orderstate.actions.base import Context
from orderstate.manager import OrderStateManager
from orderstate.models import EventKind, OrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def side():
    """The manager of a second account, "side"."""
    return OrderStateManager(source="api", account="side")


def test_an_orders_events_carry_its_account_and_base_symbol(side):
    side.register_sell_order("RELIANCE-EQ", "S-1", "2500.00", 10)

    event = OrderEvent.objects.get(kind=EventKind.REGISTERED)

    assert (event.account, event.symbol) == ("side", "RELIANCE")


def test_a_failed_buys_event_carries_its_account_and_symbol(side):
    side.add_failed_order("TCS-EQ", "TCS.NS", qty=5, close="3500.00", reason="funds")

    event = OrderEvent.objects.get(kind=EventKind.FAILED_ORDER)

    assert (event.order, event.account, event.symbol) == (None, "side", "TCS")


def test_a_trade_note_is_about_the_trades_account_and_symbol(side):
    side.register_buy_order("INFY-EQ", "B-1", "1500.00", 10)
    trade = side.mark_order_executed("INFY", "B-1", "1500.00").trade

    OrderStateManager(source="admin").update_trade_notes(trade.pk, {"why": "breakout"})

    event = OrderEvent.objects.get(kind=EventKind.NOTE)
    assert (event.order, event.account, event.symbol) == (None, "side", "INFY")


def test_a_ledger_rebuild_is_about_the_rebuilt_account_and_symbol(side):
    side.register_buy_order("INFY-EQ", "B-1", "1500.00", 10)
    trade = side.mark_order_executed("INFY", "B-1", "1500.00").trade
    trade.quantity = 7  # a figure the ledger disagrees with
    trade.save(update_fields=["quantity"])

    ledger_rebuild.rebuild_ledger(Context.of("cli"), "side", "INFY")

    event = OrderEvent.objects.get(kind=EventKind.NOTE)
    assert (event.order, event.account, event.symbol) == (None, "side", "INFY")
