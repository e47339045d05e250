"""What the broker's book does to positions: its quantities, manual trades by time, and the
state check that sees what a wrong position would hide."""

from decimal import Decimal

import pytest

from orderstate.checks import find_problems, fix_problems
from orderstate.models import EventKind, Lot, Order, OrderEvent, Position, Trade, TradeStatus
from orderstate.states import Status
from tests.kotak_book import placed_in, row

pytestmark = pytest.mark.django_db


def held(symbol):
    return Position.objects.get(symbol=symbol).net_quantity


def codes(problems):
    return sorted(problem.code for problem in problems)


def position(manager, symbol, qty, price):
    manager.register_buy_order(symbol, f"BUY-{symbol}", price, qty)
    manager.mark_order_executed(symbol, f"BUY-{symbol}", price)


def test_a_quantity_changed_at_the_broker_is_followed_before_its_fills(manager):
    position(manager, "TCS", 10, "3900.00")
    manager.register_sell_order("TCS", "S-1", "4000.00", 10)
    # The trader cut the sell from 10 to 6 in the Neo app; those 6 filled.
    stats = manager.sync_with_broker(
        broker_orders=[row("S-1", "TCS", "S", "complete", 6, 6, "4000.00", "4000.00")]
    )

    order = Order.objects.get(broker_order_id="S-1")
    assert (order.quantity, order.filled_quantity, order.status) == (6, 6, Status.EXECUTED)
    change = OrderEvent.objects.get(order=order, kind=EventKind.QUANTITY_CHANGED)
    assert change.data == {"from": 10, "to": 6, "by": "broker"}
    trade = Trade.objects.get()
    assert (trade.status, trade.closed_quantity, trade.realised_pnl) == (
        TradeStatus.OPEN,
        6,
        Decimal("600.00"),
    )
    assert held("TCS") == 4
    assert stats["quantity_changed"] == 1


def test_a_partial_manual_sell_leaves_the_bots_live_sell_alone_and_is_flagged(manager):
    position(manager, "TCS", 10, "3900.00")
    manager.register_sell_order("TCS", "S-1", "4000.00", 10)
    manual = row(
        "M-1", "TCS", "S", "complete", 4, 4, "0.00", "3950.00",
        prcTp="MKT", ordDtTm=placed_in(60),
    )  # fmt: skip

    stats = manager.sync_with_broker(
        broker_orders=[manual, row("S-1", "TCS", "S", "open", 10, 0, "4000.00")]
    )

    assert Order.objects.get(broker_order_id="S-1").status == Status.OPEN
    assert held("TCS") == 6
    assert stats["manual_sells"] == 1
    assert "sell_exceeds_position" in codes(find_problems())
    assert "unprotected_position" not in codes(find_problems())


def test_a_manual_sell_of_everything_stops_tracking_the_bots_sell(manager):
    position(manager, "TCS", 10, "3900.00")
    manager.register_sell_order("TCS", "S-1", "4000.00", 10)
    manual = row(
        "M-1", "TCS", "S", "complete", 10, 10, "0.00", "3950.00",
        prcTp="MKT", ordDtTm=placed_in(60),
    )  # fmt: skip

    manager.sync_with_broker(broker_orders=[manual])

    sell = Order.objects.get(broker_order_id="S-1")
    assert (sell.status, "manually" in sell.status_reason) == (Status.CANCELLED, True)
    assert Trade.objects.get().status == TradeStatus.CLOSED


def test_a_manual_sell_placed_before_the_trade_opened_leaves_it_alone(manager):
    manual = row(
        "M-1", "TCS", "S", "complete", 5, 5, "0.00", "3800.00",
        prcTp="MKT", ordDtTm=placed_in(-3600),
    )  # fmt: skip
    position(manager, "TCS", 10, "3900.00")

    manager.sync_with_broker(broker_orders=[manual])

    trade = Trade.objects.get()
    assert (trade.status, trade.closed_quantity, trade.realised_pnl) == (TradeStatus.OPEN, 0, None)
    assert held("TCS") == 10
    outside = Lot.objects.get(order__broker_order_id="M-1")
    assert (outside.outside_quantity, outside.open_quantity) == (5, 0)
    assert "oversold" not in codes(find_problems())


def test_manual_orders_listed_newest_first_are_applied_in_the_order_they_were_placed(manager):
    bought = row(
        "M-1", "INFY", "B", "complete", 8, 8, "0.00", "1500.00",
        prcTp="MKT", ordDtTm=placed_in(-120),
    )  # fmt: skip
    sold = row(
        "M-2", "INFY", "S", "complete", 8, 8, "0.00", "1550.00",
        prcTp="MKT", ordDtTm=placed_in(-60),
    )  # fmt: skip

    manager.sync_with_broker(broker_orders=[sold, bought])

    trade = Trade.objects.get()
    assert (trade.status, trade.realised_pnl) == (TradeStatus.CLOSED, Decimal("400.00"))
    assert held("INFY") == 0


def test_check_state_reports_an_oversold_position(manager):
    position(manager, "TCS", 10, "3900.00")
    manager.register_sell_order("TCS", "S-1", "4000.00", 12)
    manager.mark_order_executed("TCS", "S-1", "4000.00")

    problems = [problem for problem in find_problems() if problem.code == "oversold"]

    assert [problem.ids for problem in problems] == [{"order": ["S-1"]}]
    assert "oversold by 2" in problems[0].message


def test_check_state_reports_a_manual_buy_the_bots_sell_no_longer_covers(manager):
    position(manager, "TCS", 10, "3900.00")
    manager.register_sell_order("TCS", "S-1", "4000.00", 10)
    manual = row(
        "M-1", "TCS", "B", "complete", 5, 5, "0.00", "3920.00",
        prcTp="MKT", ordDtTm=placed_in(60),
    )  # fmt: skip

    manager.sync_with_broker(broker_orders=[manual, row("S-1", "TCS", "S", "open", 10)])

    assert held("TCS") == 15
    assert "position_not_covered" in codes(find_problems())


def test_check_state_reports_a_ledger_its_trade_disagrees_with(manager):
    position(manager, "TCS", 10, "3900.00")
    Trade.objects.update(quantity=12)  # written behind the ledger's back

    assert "ledger_trade_mismatch" in codes(find_problems())


def test_check_state_fix_derives_a_disagreeing_ledger_again_from_the_fills(manager):
    position(manager, "TCS", 10, "3900.00")
    Trade.objects.update(quantity=12, entry_price=Decimal("1.00"))

    fixed, remaining = fix_problems(find_problems())

    assert codes(fixed) == ["ledger_trade_mismatch"]
    assert "ledger_trade_mismatch" not in codes(remaining)
    trade = Trade.objects.get()
    assert (trade.quantity, trade.entry_price) == (10, Decimal("3900.0000"))
