"""check_state: the whole state agrees with itself; --fix repairs what needs no guess."""

import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orderstate.actions import failed_orders
from orderstate.checks import Problem, find_problems, fix_problems
from orderstate.models import EventKind, FailedOrder, Order, OrderEvent, Trade

IST = ZoneInfo("Asia/Kolkata")

pytestmark = pytest.mark.django_db


def check(*args, **options):
    """(exit code, output) of check_state."""
    out = io.StringIO()
    try:
        call_command("check_state", *args, stdout=out, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def codes(problems):
    return sorted(problem.code for problem in problems)


def days_ago(days):
    return timezone.now() - timedelta(days=days)


def test_healthy_state_has_no_problems(sell_order):
    assert find_problems() == []
    assert check() == (0, "No problems found.\n")


def test_open_trade_without_active_sell_is_an_unprotected_position(open_position):
    [problem] = find_problems()
    trade = Trade.objects.get()
    assert isinstance(problem, Problem)
    assert (problem.code, problem.ids) == ("unprotected_position", {"trade": [trade.pk]})
    assert "RELIANCE x10" in problem.message


def test_sell_executed_before_the_next_position_opened_is_not_a_problem(manager, sell_order):
    manager.mark_order_executed("RELIANCE", "S-1", "2500.00")
    manager.register_buy_order("RELIANCE-EQ", "B-2", "2450.00", 5)
    manager.mark_order_executed("RELIANCE", "B-2", "2450.00")
    manager.register_sell_order("RELIANCE-EQ", "S-2", "2550.00", 5)

    assert find_problems() == []


def test_active_sell_without_open_trade_is_reported(manager):
    manager.register_sell_order("TCS-EQ", "S-9", 4050.0, 5)
    assert codes(find_problems()) == ["sell_without_position"]


def test_order_active_longer_than_max_days_is_reported(manager):
    manager.register_buy_order("TCS-EQ", "B-9", None, 5, placed_at=days_ago(8))
    assert codes(find_problems(max_active_days=7)) == ["stale_active_order"]
    assert find_problems(max_active_days=9) == []
    code, output = check(max_active_days=7)
    assert code == 1 and "stale_active_order" in output


def executed_sell_with_open_trade(importer, average_price="2500.00"):
    """Legacy history: the sell executed, but the trade was never marked closed."""
    importer.import_order(
        "RELIANCE-EQ",
        "B-1",
        side="BUY",
        qty=10,
        status="EXECUTED",
        placed_at=days_ago(3),
        filled_qty=10,
        order_type="MARKET",
        average_price="2400.00",
    )
    importer.import_order(
        "RELIANCE-EQ",
        "S-1",
        side="SELL",
        qty=10,
        price="2500.00",
        status="EXECUTED",
        placed_at=days_ago(2),
        filled_qty=10,
        average_price=average_price,
        last_synced_at=days_ago(1),
    )
    return importer.import_trade(
        "RELIANCE",
        qty=10,
        entry_price="2400.00",
        entry_time=days_ago(3),
        status="OPEN",
        entry_order_id="B-1",
    )


def test_executed_sell_with_open_trade_is_reported(importer):
    trade = executed_sell_with_open_trade(importer)
    problems = find_problems()
    assert codes(problems) == ["sell_executed_trade_open", "unprotected_position"]
    problem = next(p for p in problems if p.code == "sell_executed_trade_open")
    assert problem.ids == {"order": ["S-1"], "trade": [trade.pk]}


def test_fix_closes_the_trade_at_the_sells_execution_price(importer):
    trade = executed_sell_with_open_trade(importer)
    code, output = check(fix=True)
    assert code == 0
    assert "fixed    sell_executed_trade_open" in output
    trade.refresh_from_db()
    assert (trade.status, trade.exit_price, trade.realised_pnl) == (
        "CLOSED",
        Decimal("2500.0000"),
        Decimal("1000.00"),
    )
    assert trade.exit_order.broker_order_id == "S-1"
    event = OrderEvent.objects.get(kind=EventKind.TRADE_CLOSED, source="cli")
    assert event.data["repair"] is True
    assert find_problems() == []


def test_fix_leaves_a_sell_without_execution_price_for_a_human(importer):
    executed_sell_with_open_trade(importer, average_price=None)
    code, output = check(fix=True)
    assert code == 1
    assert "no execution price recorded" in output
    assert Trade.objects.get().status == "OPEN"


def test_trade_closed_without_sell_is_linked_when_its_history_names_the_sell(importer):
    importer.import_order(
        "TCS-EQ",
        "S-7",
        side="SELL",
        qty=5,
        price="4050.00",
        status="EXECUTED",
        placed_at=days_ago(2),
        filled_qty=5,
    )
    trade = importer.import_trade(
        "TCS",
        qty=5,
        entry_price="3890",
        entry_time=days_ago(4),
        status="CLOSED",
        exit_price="4050",
        exit_time=days_ago(1),
        realised_pnl="800",
        metadata={"sell_order_id": "S-7"},
    )
    assert codes(find_problems()) == ["trade_closed_without_sell"]
    fixed, remaining = fix_problems(find_problems())
    assert (codes(fixed), remaining) == (["trade_closed_without_sell"], [])
    trade.refresh_from_db()
    assert trade.exit_order.broker_order_id == "S-7"
    assert Order.objects.get(broker_order_id="S-7").trade == trade


def test_trade_closed_without_any_known_sell_stays_a_problem(importer):
    importer.import_trade(
        "WIPRO",
        qty=30,
        entry_price="245.30",
        entry_time=days_ago(4),
        status="CLOSED",
        exit_price="252.10",
        exit_time=days_ago(1),
        realised_pnl="204",
    )
    fixed, remaining = fix_problems(find_problems())
    assert fixed == []
    assert codes(remaining) == ["trade_closed_without_sell"]


def test_expired_failed_order_is_reported_and_fixed_by_expiring_it(manager):
    failed_orders.add(
        manager.ctx,
        "SBIN-EQ",
        "SBIN.NS",
        25,
        "625.00",
        "funds",
        {},
        now=timezone.now() - timedelta(days=10),  # before any run of closed days
    )
    assert codes(find_problems()) == ["failed_order_expired"]
    code, _ = check(fix=True)
    assert code == 0
    assert FailedOrder.objects.get().status == "EXPIRED"


def test_failed_order_before_the_next_open_is_not_a_problem(manager):
    failed = datetime(2026, 10, 23, 16, 0, tzinfo=IST)  # Friday: Monday's open
    failed_orders.add(manager.ctx, "SBIN-EQ", "SBIN.NS", 25, "625.00", "funds", {}, now=failed)
    assert find_problems(now=datetime(2026, 10, 24, 9, 15, tzinfo=IST)) == []
    assert find_problems(now=datetime(2026, 10, 26, 9, 14, tzinfo=IST)) == []
    assert codes(find_problems(now=datetime(2026, 10, 26, 9, 15, tzinfo=IST))) == [
        "failed_order_expired"
    ]


def test_json_output_lists_problems_with_ids(open_position):
    code, output = check(json=True)
    document = json.loads(output)
    assert code == 1
    assert document["fixed"] == []
    [problem] = document["problems"]
    assert problem["code"] == "unprotected_position"
    assert problem["ids"] == {"trade": [Trade.objects.get().pk]}
    assert problem["account"] == "default"


def test_max_active_days_must_be_positive(db):
    assert check(max_active_days=0)[0] == 1
