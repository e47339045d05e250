"""Migration 0011 gives existing events the account and symbol they are about."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("orderstate", "0010_rebuild_ledger")]


@pytest.fixture
def old_database(transactional_db):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())


def migrate_to_latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_events_get_the_account_and_symbol_they_are_about(old_database):
    apps = old_database
    Order = apps.get_model("orderstate", "Order")
    Trade = apps.get_model("orderstate", "Trade")
    FailedOrder = apps.get_model("orderstate", "FailedOrder")
    OrderEvent = apps.get_model("orderstate", "OrderEvent")
    order = Order.objects.create(
        account="side",
        broker_order_id="S-1",
        symbol="TCS-EQ",
        base_symbol="TCS",
        side="SELL",
        quantity=5,
    )
    trade = Trade.objects.create(account="side", symbol="INFY", quantity=3, entry_price=1500)
    failed = FailedOrder.objects.create(account="side", symbol="WIPRO", quantity=2)
    OrderEvent.objects.create(order=order, kind="registered", source="bot")
    OrderEvent.objects.create(kind="note", source="admin", data={"trade_id": trade.pk})
    OrderEvent.objects.create(
        kind="failed_order", source="bot", data={"failed_order_id": failed.pk}
    )
    OrderEvent.objects.create(kind="note", source="cli", data={"ledger_rebuilt": "HDFC"})
    OrderEvent.objects.create(kind="note", source="cli", data={})

    migrate_to_latest()

    from orderstate.models import OrderEvent as Event

    assert list(Event.objects.order_by("id").values_list("account", "symbol")) == [
        ("side", "TCS"),
        ("side", "INFY"),
        ("side", "WIPRO"),
        ("default", "HDFC"),
        ("default", ""),
    ]
