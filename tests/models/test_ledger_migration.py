"""Migration 0010 (run by 0012 once the columns it reads exist) derives the ledger of a
database from before it, and says what it corrected."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("orderstate", "0008_order_status_quantity_index")]
AFTER = [("orderstate", "0016_rebuild_ledger_after_sources")]


@pytest.fixture
def old_database(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


def test_rebuild_turns_recorded_fills_into_lots_and_corrects_the_re_entry_cost(
    old_database, capsys
):
    apps = old_database
    Order = apps.get_model("orderstate", "Order")
    OrderEvent = apps.get_model("orderstate", "OrderEvent")
    Trade = apps.get_model("orderstate", "Trade")
    start = timezone.now() - timedelta(days=2)
    fills = [("B1", "BUY", 10, "100"), ("S1", "SELL", 6, "120"), ("B2", "BUY", 5, "110")]
    fills.append(("S2", "SELL", 9, "120"))
    orders = []
    for minute, (order_id, side, qty, price) in enumerate(fills):
        at = start + timedelta(minutes=minute)
        order = Order.objects.create(
            broker_order_id=order_id,
            symbol="ACME",
            base_symbol="ACME",
            side=side,
            quantity=qty,
            price=Decimal(price),
            filled_quantity=qty,
            average_price=Decimal(price),
            status="EXECUTED",
            placed_at=at,
            closed_at=at,
        )
        OrderEvent.objects.create(order=order, at=at, kind="executed", source="bot")
        orders.append(order)
    # As the old positions left it: re-entry averaged over the sold shares too.
    Trade.objects.create(
        symbol="ACME",
        quantity=15,
        closed_quantity=15,
        entry_price=Decimal("103.3333"),
        entry_time=start,
        entry_order=orders[0],
        exit_price=Decimal("120.0000"),
        exit_time=start + timedelta(minutes=3),
        exit_order=orders[3],
        status="CLOSED",
        realised_pnl=Decimal("270.00"),
    )

    MigrationExecutor(connection).migrate(AFTER)

    new_apps = MigrationExecutor(connection).loader.project_state(AFTER).apps
    trade = new_apps.get_model("orderstate", "Trade").objects.get()
    lots = new_apps.get_model("orderstate", "Lot").objects.order_by("at")
    assert trade.realised_pnl == Decimal("250.00")
    assert (trade.quantity, trade.closed_quantity, trade.status) == (15, 15, "CLOSED")
    assert [(lot.side, lot.quantity, lot.open_quantity) for lot in lots] == [
        ("BUY", 10, 0),
        ("SELL", 6, 0),
        ("BUY", 5, 0),
        ("SELL", 9, 0),
    ]
    output = capsys.readouterr().out
    assert "realised_pnl: 270.00 -> 250.00" in output
    assert "ledger rebuilt for 1 symbols" in output
