"""Any sequence of registrations, fills, executions, cancels and broker reports keeps the
order state's invariants.

After every step:

- `check_state` finds none of the problems no sequence of inputs may cause
  (INVARIANT_CODES). The others are states that legitimate input reaches and
  that check_state reports for a person: `oversold` (a sell recorded before the
  buy that covers it), `unprotected_position` and `sell_without_position` (the
  bot's sell is not placed yet, or placed first), `sell_exceeds_position` and
  `position_not_covered` (trades by hand at the broker), and the time-based
  `stale_active_order` and `failed_order_expired`.
- No order's filled quantity went down.
- Each order's version counts its changes: its events, less the position events
  (`data["position"]`) a fill writes beside its own, number exactly its version
  (1 at registration, one more per change).

Refused steps (`OrderStateError`: a bad transition, a conflict, a bad value) are
part of the sequences, and must change nothing; any other exception fails.
"""

from contextlib import suppress
from decimal import Decimal
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderstate.checks import find_problems
from orderstate.errors import OrderStateError
from orderstate.manager import OrderStateManager
from orderstate.models import Order, OrderEvent
from tests.kotak_book import row

INVARIANT_CODES = frozenset(
    {
        "filled_above_quantity",
        "duplicate_open_trades",
        "ledger_trade_mismatch",
        "sell_executed_trade_open",
        "trade_closed_without_sell",
    }
)
ORDER_IDS = ["1", "2", "3", "4"]
accounts = count()

quantities = st.integers(min_value=1, max_value=12)
prices = st.decimals(min_value=Decimal("90.00"), max_value=Decimal("110.00"), places=2)

register = st.tuples(
    st.just("register"), st.sampled_from(["BUY", "SELL"]), st.sampled_from(ORDER_IDS),
    quantities, prices,
)  # fmt: skip
fill = st.tuples(
    st.just("fill"), st.sampled_from(ORDER_IDS), quantities, prices,
    st.sampled_from([None, "f1", "f2"]),
)  # fmt: skip
execute = st.tuples(st.just("execute"), st.sampled_from(ORDER_IDS), prices)
cancel = st.tuples(
    st.just("cancel"), st.sampled_from(ORDER_IDS), st.sampled_from(["CANCELLED", "REJECTED"])
)
broker_report = st.tuples(
    st.just("broker"), st.sampled_from(ORDER_IDS), st.sampled_from(["B", "S"]),
    st.sampled_from(["open", "complete", "cancelled", "rejected"]), quantities,
    st.integers(min_value=0, max_value=12), prices,
)  # fmt: skip
steps = st.lists(st.one_of(register, fill, execute, cancel, broker_report), max_size=10)


def apply(manager, step):
    kind, *args = step
    if kind == "register":
        side, order_id, qty, price = args
        manager.register_order(side, "ACME-EQ", order_id, price, qty)
    elif kind == "fill":
        order_id, qty, price, fill_id = args
        manager.record_fill(order_id, qty, price, fill_id)
    elif kind == "execute":
        order_id, price = args
        manager.mark_order_executed("ACME", order_id, price)
    elif kind == "cancel":
        order_id, status = args
        manager.cancel_order(order_id, "test", status)
    else:
        order_id, side, status, qty, filled, price = args
        filled = qty if status == "complete" else min(filled, qty)
        average = str(price) if filled else "0.00"
        book = [row(order_id, "ACME", side, status, qty, filled, str(price), average)]
        manager.sync_with_broker(broker_orders=book)


def check_invariants(account, filled_before):
    broken = [p for p in find_problems() if p.code in INVARIANT_CODES]
    assert broken == [], [f"{p.code}: {p.message}" for p in broken]
    orders = Order.objects.filter(account=account)
    for order in orders:
        assert order.filled_quantity >= filled_before.get(order.pk, 0), order
        filled_before[order.pk] = order.filled_quantity
        changes = [
            event
            for event in OrderEvent.objects.filter(order=order)
            if "position" not in (event.data or {})
        ]
        assert len(changes) == order.version, (order, [e.kind for e in changes])


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
def test_any_sequence_keeps_the_invariants(db, sequence):
    manager = OrderStateManager(source="bot", account=f"invariants-{next(accounts)}")
    filled_before = {}
    for step in sequence:
        with suppress(OrderStateError):
            apply(manager, step)
        check_invariants(manager.account, filled_before)
