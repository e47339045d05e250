"""The database itself refuses rows that break an invariant, whoever writes them."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from orderstate.models import FailedOrder, Order, Trade

pytestmark = pytest.mark.django_db


def _order(**overrides):
    fields = {
        "broker_order_id": "X1",
        "symbol": "TCS-EQ",
        "base_symbol": "TCS",
        "side": "SELL",
        "quantity": 10,
        "price": Decimal("100.00"),
    }
    return Order(**{**fields, **overrides})


def _refused(write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.mark.parametrize(
    "overrides",
    [
        {"quantity": 0},
        {"filled_quantity": 11},
        {"price": Decimal("0")},
        {"price": Decimal("-1")},
        {"trigger_price": Decimal("-5")},
        {"average_price": Decimal("0")},
        {"status": "LOST"},
        {"side": "HOLD"},
        {"status": "EXECUTED", "filled_quantity": 4},
        {"broker_order_id": ""},
    ],
)
def test_a_bad_order_row_is_refused(overrides):
    _refused(lambda: _order(**overrides).save())


def test_an_update_that_overfills_is_refused(manager, sell_order):
    _refused(lambda: Order.objects.filter(pk=sell_order.pk).update(filled_quantity=11))


def test_a_duplicate_broker_id_in_one_account_is_refused():
    _order().save()

    _refused(lambda: _order(status="EXECUTED", filled_quantity=10).save())
    _order(account="other").save()


def test_two_active_sells_for_one_symbol_are_refused():
    _order().save()

    _refused(lambda: _order(broker_order_id="X2", status="OPEN").save())
    _order(broker_order_id="X3", status="CANCELLED").save()
    _order(broker_order_id="X4", side="BUY").save()


def test_two_open_trades_for_one_symbol_are_refused():
    Trade.objects.create(symbol="TCS", quantity=1, entry_price=Decimal("1"))

    _refused(lambda: Trade.objects.create(symbol="TCS", quantity=1, entry_price=Decimal("1")))


def test_a_closed_trade_without_an_exit_is_refused():
    _refused(
        lambda: Trade.objects.create(
            symbol="TCS", quantity=1, entry_price=Decimal("1"), status="CLOSED"
        )
    )


def test_a_trade_cannot_sell_more_than_it_bought():
    _refused(
        lambda: Trade.objects.create(
            symbol="TCS",
            quantity=1,
            closed_quantity=2,
            entry_price=Decimal("1"),
            exit_price=Decimal("2"),
            exit_time=timezone.now(),
        )
    )


def test_two_waiting_failed_orders_for_one_symbol_are_refused():
    FailedOrder.objects.create(symbol="TCS", quantity=1)

    _refused(lambda: FailedOrder.objects.create(symbol="TCS", quantity=2))
