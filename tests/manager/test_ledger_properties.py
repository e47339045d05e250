"""Whatever order fills are recorded in, the ledger ends where execution order leads it."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderstate.manager import OrderStateManager
from orderstate.models import Position, Trade

START = timezone.now() - timedelta(days=30)
accounts = count()

fills = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=1, max_value=40),
        st.decimals(min_value=Decimal("1.00"), max_value=Decimal("999.99"), places=2),
    ),
    min_size=1,
    max_size=12,
)


def record(fills_in_execution_order, recording_order):
    """Record each fill as its own order, in `recording_order`, dated by execution order.

    Returns (realised P&L, net quantity) of the ledger afterwards, in a fresh account.
    """
    manager = OrderStateManager(source="bot", account=f"property-{next(accounts)}")
    for index in recording_order:
        side, quantity, price = fills_in_execution_order[index]
        order_id = f"F{index}"
        if side == "BUY":
            manager.register_buy_order("ACME", order_id, price, quantity)
        else:
            manager.register_sell_order("ACME", order_id, price, quantity)
        manager.record_fill(order_id, quantity, price, at=START + timedelta(seconds=index))
    trades = Trade.objects.filter(account=manager.account)
    pnl = trades.aggregate(total=Sum("realised_pnl"))["total"] or Decimal("0.00")
    net = Position.objects.get(account=manager.account, symbol="ACME").net_quantity
    return pnl, net


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), execution=fills)
def test_any_recording_order_gives_the_execution_order_pnl_and_position(db, data, execution):
    recording_order = data.draw(st.permutations(range(len(execution))))

    expected = record(execution, range(len(execution)))
    got = record(execution, recording_order)

    assert got == expected
