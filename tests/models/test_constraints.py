"""The database itself refuses rows that break an invariant, whoever writes them."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orderstate.models import Order
from tests.factories import FailedOrderFactory, OrderFactory, TradeFactory

pytestmark = pytest.mark.django_db


def _refused(write, constraint=None):
    """`write` raises IntegrityError; naming a check `constraint` proves it was that one
    (SQLite and PostgreSQL both name a failed check; unique violations differ)."""
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        write()


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"quantity": 0}, "order_quantity_positive"),
        ({"filled_quantity": 11}, "order_filled_within_quantity"),
        ({"price": Decimal("0")}, "order_price_positive"),
        ({"price": Decimal("-1")}, "order_price_positive"),
        ({"trigger_price": Decimal("-5")}, "order_trigger_price_positive"),
        ({"average_price": Decimal("0")}, "order_average_price_positive"),
        ({"status": "LOST"}, "order_status_valid"),
        ({"side": "HOLD"}, "order_side_valid"),
        ({"status": "EXECUTED", "filled_quantity": 4}, "order_executed_is_fully_filled"),
        ({"broker_order_id": ""}, "order_ids_not_blank"),
    ],
)
def test_a_bad_order_row_is_refused(overrides, constraint):
    _refused(lambda: OrderFactory(**overrides), constraint)


def test_an_update_that_overfills_is_refused(manager, sell_order):
    _refused(
        lambda: Order.objects.filter(pk=sell_order.pk).update(filled_quantity=11),
        "order_filled_within_quantity",
    )


def test_a_duplicate_broker_id_in_one_account_is_refused():
    OrderFactory(broker_order_id="X1")

    _refused(lambda: OrderFactory(broker_order_id="X1", status="EXECUTED", filled_quantity=10))
    OrderFactory(broker_order_id="X1", account="other")


def test_two_active_sells_for_one_symbol_are_refused():
    OrderFactory(symbol="TCS-EQ")

    _refused(lambda: OrderFactory(symbol="TCS-EQ", status="OPEN"))
    OrderFactory(symbol="TCS-EQ", status="CANCELLED")
    OrderFactory(symbol="TCS-EQ", side="BUY")


def test_two_open_trades_for_one_symbol_are_refused():
    TradeFactory(symbol="TCS")

    _refused(lambda: TradeFactory(symbol="TCS"))


def test_a_closed_trade_without_an_exit_is_refused():
    _refused(lambda: TradeFactory(status="CLOSED"), "trade_closed_has_exit")


def test_a_trade_cannot_sell_more_than_it_bought():
    _refused(
        lambda: TradeFactory(
            quantity=1, closed_quantity=2, exit_price=Decimal("2"), exit_time=timezone.now()
        ),
        "trade_closed_within_quantity",
    )


def test_two_waiting_failed_orders_for_one_symbol_are_refused():
    FailedOrderFactory(symbol="TCS")

    _refused(lambda: FailedOrderFactory(symbol="TCS", quantity=2))
