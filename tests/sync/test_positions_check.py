"""The positions check after each sync: orderstate's ledger against the broker's holdings
plus today's delivery (CNC) position, every mismatch recorded and shown (dashboard,
/healthz, /metrics, check_state), and fixed only by a staff user through an action."""

import json
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from orderstate.brokers.replay import ReplayBroker
from orderstate.checks import find_problems
from orderstate.models import EventKind, Lot, LotSource, OrderEvent, OutsideHolding, Position
from orderstate.sync import run_sync, summary
from tests.kotak_book import book, load

pytestmark = pytest.mark.django_db


def holding(symbol, quantity, average=100.0, segment="nse_cm"):
    row = dict(load("holdings_ok")["data"][0])
    row.update(
        symbol=symbol,
        displaySymbol=symbol,
        quantity=quantity,
        sellableQuantity=quantity,
        averagePrice=average,
        exchangeSegment=segment,
    )
    return row


def position_row(symbol, bought, sold, product="CNC", segment="nse_cm"):
    row = dict(load("positions_ok")["data"][0])
    row.update(
        trdSym=f"{symbol}-EQ",
        sym=symbol,
        flBuyQty=str(bought),
        flSellQty=str(sold),
        prod=product,
        exSeg=segment,
    )
    return row


def sync(tmp_path, holdings=(), positions=()):
    path = tmp_path / f"session-{len(list(tmp_path.iterdir()))}.json"
    session = {
        "orders": book(),
        "positions": {"stat": "ok", "stCode": 200, "data": list(positions)},
        "holdings": {"data": list(holdings)},
    }
    path.write_text(json.dumps(session))
    return run_sync(broker=ReplayBroker(path))


@pytest.fixture
def tcs_held(manager):
    """orderstate holds 10 TCS."""
    manager.register_buy_order("TCS", "B-1", "3900.00", 10)
    manager.mark_order_executed("TCS", "B-1", "3900.00")
    return manager


def mismatches(run):
    return [(row["symbol"], row["ours"], row["broker"]) for row in run.stats["position_mismatches"]]


def test_holdings_plus_todays_delivery_position_that_agree_are_no_mismatch(tmp_path, tcs_held):
    run = sync(tmp_path, holdings=[holding("TCS", 6)], positions=[position_row("TCS", 4, 0)])

    assert run.stats["position_mismatches"] == []
    assert run.stats["positions_checked"] == 1


def test_broker_holding_less_is_a_mismatch_and_nothing_is_fixed(tmp_path, tcs_held):
    run = sync(tmp_path, holdings=[holding("TCS", 7)])

    assert mismatches(run) == [("TCS", 10, 7)]
    assert Position.objects.get(symbol="TCS").net_quantity == 10
    assert "position_mismatches=1 (TCS)" in summary(run)


def test_intraday_and_other_segments_do_not_count_as_holdings(tmp_path, tcs_held):
    run = sync(
        tmp_path,
        holdings=[holding("TCS", 10), holding("NIFTY", 50, segment="nse_fo")],
        positions=[
            position_row("TCS", 5, 0, product="MIS"),
            position_row("TCS", 2, 0, segment="nse_fo"),
        ],
    )

    assert run.stats["position_mismatches"] == []


def test_a_sell_today_of_held_shares_nets_against_holdings(tmp_path, tcs_held):
    run = sync(tmp_path, holdings=[holding("TCS", 14)], positions=[position_row("TCS", 0, 4)])

    assert run.stats["position_mismatches"] == []


def test_symbols_orderstate_never_traded_are_counted_outside_not_listed(tmp_path, tcs_held):
    run = sync(tmp_path, holdings=[holding("TCS", 10), holding("IDEA", 35), holding("CESC", 20)])

    assert run.stats["position_mismatches"] == []
    assert run.stats["positions_outside"] == 2


def test_broker_holding_more_is_a_mismatch_until_the_extra_is_confirmed_outside(
    tmp_path, tcs_held, staff_user
):
    first = sync(tmp_path, holdings=[holding("TCS", 25)])
    assert mismatches(first) == [("TCS", 10, 25)]

    admin = type(tcs_held)(source="admin", actor=staff_user)
    admin.confirm_outside_holding("TCS")

    outside = OutsideHolding.objects.get(symbol="TCS")
    assert (outside.quantity, outside.confirmed_by) == (15, staff_user)
    event = OrderEvent.objects.get(kind=EventKind.OUTSIDE_CONFIRMED)
    assert (event.actor, event.data["quantity"], event.data["by"]) == (
        staff_user,
        15,
        staff_user.username,
    )
    assert sync(tmp_path, holdings=[holding("TCS", 25)]).stats["position_mismatches"] == []
    # Only a change of the confirmed extra is flagged from then on.
    changed = sync(tmp_path, holdings=[holding("TCS", 22)])
    assert [(row["symbol"], row["outside"]) for row in changed.stats["position_mismatches"]] == [
        ("TCS", 15)
    ]


def test_less_than_orderstate_holds_is_never_confirmed_outside(tmp_path, tcs_held, staff_user):
    sync(tmp_path, holdings=[holding("TCS", 7)])
    admin = type(tcs_held)(source="admin", actor=staff_user)

    with pytest.raises(Exception, match="never held outside"):
        admin.confirm_outside_holding("TCS")
    assert not OutsideHolding.objects.exists()


def test_accepting_the_brokers_quantity_posts_an_adjusting_lot_with_the_staff_user(
    tmp_path, tcs_held, staff_user
):
    sync(tmp_path, holdings=[holding("TCS", 7, average=3950.0)])
    admin = type(tcs_held)(source="admin", actor=staff_user)

    lot = admin.accept_broker_quantity("TCS", "4000.00")

    assert (lot.side, lot.quantity, lot.price, lot.source) == (
        "SELL",
        3,
        Decimal("4000.00"),
        LotSource.ADJUSTMENT,
    )
    assert Position.objects.get(symbol="TCS").net_quantity == 7
    event = OrderEvent.objects.get(kind=EventKind.POSITION_ADJUSTED)
    assert event.actor == staff_user
    assert {key: event.data[key] for key in ("symbol", "from", "to", "broker", "by")} == {
        "symbol": "TCS",
        "from": 10,
        "to": 7,
        "broker": 7,
        "by": staff_user.username,
    }
    assert sync(tmp_path, holdings=[holding("TCS", 7)]).stats["position_mismatches"] == []


def test_accepting_with_nothing_recorded_for_the_symbol_is_refused(tcs_held, staff_user):
    admin = type(tcs_held)(source="admin", actor=staff_user)

    with pytest.raises(Exception, match="no mismatch"):
        admin.accept_broker_quantity("TCS", "4000.00")
    assert not Lot.objects.filter(source=LotSource.ADJUSTMENT).exists()


def test_a_mismatch_shows_everywhere(tmp_path, tcs_held, client, viewer_client, staff_client):
    sync(tmp_path, holdings=[holding("TCS", 7)])

    health = client.get("/healthz").json()
    assert health["status"] == "degraded"
    assert health["position_mismatches"] == {"count": 1, "symbols": ["TCS (ours 10, broker 7)"]}
    metrics = staff_client.get("/metrics").content.decode()
    assert re.search(r"^orderstate_position_mismatches 1(\.0)?$", metrics, re.MULTILINE)
    page = viewer_client.get("/").content.decode()
    assert "Positions the broker disagrees with" in page
    assert "<strong>TCS</strong>: orderstate 10, broker 7" in page
    assert [problem.code for problem in find_problems()].count("position_mismatch") == 1


def test_check_state_lists_the_mismatches(tmp_path, tcs_held, capsys):
    sync(tmp_path, holdings=[holding("TCS", 7)])

    with pytest.raises(CommandError, match="problem"):
        call_command("check_state")

    assert "position_mismatch: TCS: orderstate holds 10, the broker 7" in capsys.readouterr().out


def test_a_broker_without_holdings_skips_the_check_and_says_so(tmp_path, tcs_held):
    path = tmp_path / "orders-only.json"
    path.write_text(json.dumps(book()))

    run = run_sync(broker=ReplayBroker(path))

    assert "position_mismatches" not in run.stats
    assert "holds no positions or holdings" in run.stats["positions_check"]


def test_the_admin_accepts_the_brokers_quantity_at_its_average(
    tmp_path, tcs_held, superuser_client, superuser
):
    sync(tmp_path, holdings=[holding("TCS", 12, average=3950.0)])
    position = Position.objects.get(symbol="TCS")
    data = {"action": "accept_broker_quantity", "_selected_action": [position.pk], "apply": "1"}

    response = superuser_client.post("/admin/orderstate/position/", data, follow=True)

    assert "Set to the broker's quantity: TCS (default)." in [
        str(message) for message in response.context["messages"]
    ]
    lot = Lot.objects.get(source=LotSource.ADJUSTMENT)
    assert (lot.side, lot.quantity, lot.price) == ("BUY", 2, Decimal("3950.0000"))
    assert OrderEvent.objects.get(kind=EventKind.POSITION_ADJUSTED).actor == superuser


def test_the_admin_confirms_the_extra_as_outside(tmp_path, tcs_held, superuser_client, superuser):
    sync(tmp_path, holdings=[holding("TCS", 12)])
    position = Position.objects.get(symbol="TCS")

    superuser_client.post(
        "/admin/orderstate/position/",
        {"action": "confirm_outside", "_selected_action": [position.pk]},
        follow=True,
    )

    assert OutsideHolding.objects.get(symbol="TCS").confirmed_by == superuser
    assert (
        superuser_client.get(f"/admin/orderstate/position/{position.pk}/change/").status_code == 200
    )


def test_a_mismatch_is_announced_once_for_notifications_not_every_sync(tmp_path, tcs_held):
    sync(tmp_path, holdings=[holding("TCS", 7)])
    sync(tmp_path, holdings=[holding("TCS", 7)])
    sync(tmp_path, holdings=[holding("TCS", 6)])  # a new figure is a new mismatch

    events = OrderEvent.objects.filter(kind=EventKind.POSITION_MISMATCH).order_by("id")
    assert [(event.data["symbol"], event.data["broker"]) for event in events] == [
        ("TCS", 7),
        ("TCS", 6),
    ]
