"""OrderStateManager: the seed's method names, kept so the old bot's code switches with few changes.

A thin facade: each method translates (symbol-keyed calls to id-keyed actions,
the old dict shapes) and delegates to `orderstate.actions`, where every change
is one locked, audited transaction.
"""

from orderstate import sync
from orderstate.actions import broker, failed_orders, fills, imports, orders, positions, repairs
from orderstate.actions.base import Context, active_sell, get_order
from orderstate.actions.broker_rule import BrokerReport
from orderstate.checks.positions import mismatch_of
from orderstate.errors import ValidationError
from orderstate.legacy import shapes
from orderstate.models import EventSource, Order, Side
from orderstate.states import ACTIVE, Status, parse_status
from orderstate.validation import parse_symbol, split_order_options


class OrderStateManager:
    """Order verbs with the names the old bot used.

    `source` says where a change comes from (api, sync, admin, import, cli, bot,
    dashboard) and `actor` which user made it; both land in every event.
    """

    def __init__(self, source=EventSource.BOT, actor=None, account=None):
        self.ctx = Context.of(source, actor, account)

    source = property(lambda self: self.ctx.source)
    actor = property(lambda self: self.ctx.actor)
    account = property(lambda self: self.ctx.account)

    # Registration --------------------------------------------------------------------

    def register_sell_order(self, symbol, order_id, target_price, qty, ticker=None, **options):
        return self.register_order(
            Side.SELL, symbol, order_id, target_price, qty, ticker, **options
        )

    def register_buy_order(self, symbol, order_id, price=None, qty=None, ticker=None, **options):
        return self.register_order(Side.BUY, symbol, order_id, price, qty, ticker, **options)

    def register_order(self, side, symbol, order_id, price, qty, ticker=None, **options):
        """Create an order; a repeat with the same fields returns the existing one.

        Takes the order options of `register_or_get`; any other keyword is the
        bot's metadata, as the old bot passed it (`rsi10=28.4`).
        """
        return self.register_or_get(side, symbol, order_id, price, qty, ticker, **options)[0]

    def register_or_get(
        self,
        side,
        symbol,
        order_id,
        price,
        qty,
        ticker=None,
        *,
        replace=False,
        metadata=None,
        **options,
    ):
        """`register_order`, returning (order, created): False for an identical repeat.

        `options` may hold account, exchange, order_type, variety, product,
        trigger_price, status (PENDING or OPEN) and placed_at.
        """
        options, extra = split_order_options(options)
        ctx = self.ctx.in_account(options.pop("account", None))
        fields = orders.order_fields(
            ctx,
            side,
            symbol,
            order_id,
            price,
            qty,
            ticker,
            metadata={**extra, **(metadata or {})},
            **options,
        )
        return orders.register_order(ctx, fields, replace=replace)

    # Fills and execution -------------------------------------------------------------

    def mark_order_executed(self, symbol, order_id, execution_price, execution_qty=None):
        return fills.mark_executed(self.ctx, symbol, order_id, execution_price, execution_qty)

    def record_fill(self, order_id, qty, price, fill_id=None, at=None):
        return fills.record_fill(self.ctx, order_id, qty, price, fill_id, at)

    # Price and tracking --------------------------------------------------------------

    def update_sell_order_price(self, symbol, new_price):
        return orders.update_sell_order_price(self.ctx, symbol, new_price)

    def update_price(self, order_id, new_price, expected_version=None):
        return orders.update_price(self.ctx, order_id, new_price, expected_version)

    def remove_from_tracking(self, symbol, reason=None, status=Status.CANCELLED):
        return orders.remove_from_tracking(self.ctx, symbol, reason, status)

    def cancel_order(self, order_id, reason=None, status=Status.CANCELLED, expected_version=None):
        return orders.cancel_order(self.ctx, order_id, reason, status, expected_version)

    def update_metadata(self, order_id, metadata, note=""):
        return orders.update_metadata(self.ctx, order_id, metadata, note)

    # The broker's view ---------------------------------------------------------------

    def apply_broker_update(self, order_id, *, account=None, **report):
        """Make one order follow the broker's view of it; returns (order, changes).

        `report` holds status and filled_quantity, and may hold average_price,
        price, broker_status and reason (a `BrokerReport`).
        """
        return broker.apply_broker_update(
            self.ctx.in_account(account), order_id, BrokerReport(**report)
        )

    def apply_broker_updates(self, reports):
        """Apply (order pk, report dict) pairs in one transaction; changes or an exception each."""
        return broker.apply_broker_updates(
            self.ctx, [(pk, BrokerReport(**report)) for pk, report in reports]
        )

    def record_broker_order(self, broker_order):
        return broker.record_broker_order(self.ctx, broker_order)

    def mark_synced(self, order_pks, at=None):
        broker.mark_synced(order_pks, at)

    def mark_missing(self, order_pks, threshold):
        return broker.mark_missing(self.ctx, order_pks, threshold)

    def sync_with_broker(self, orders_api=None, broker_orders=None):
        return sync.sync_with_broker(self, orders_api=orders_api, broker_orders=broker_orders)

    # Reads in the old bot's shapes ---------------------------------------------------

    def get_active_sell_orders(self):
        return shapes.active_sell_orders(self.account)

    def get_active_order(self, symbol):
        order = active_sell(self.account, parse_symbol(symbol)[1])
        return shapes.active_sell_order(order) if order else None

    def get_pending_orders(self, status_filter=None):
        """Orders as the old tracker listed them; by default the active ones."""
        if status_filter is None:
            statuses = sorted(ACTIVE)
        elif isinstance(status_filter, str):
            statuses = [parse_status(status_filter, "status_filter")]
        else:
            statuses = [parse_status(value, "status_filter") for value in status_filter]
        rows = Order.objects.for_account(self.account).filter(status__in=statuses)
        return [shapes.pending_order(order) for order in rows.order_by("placed_at", "id")]

    def get_trade_history(self):
        return shapes.trade_history(self.account)

    def get_order(self, order_id):
        return get_order(self.ctx, order_id)

    # Failed-buy retry queue ----------------------------------------------------------

    def add_failed_order(
        self, symbol, ticker=None, qty=None, close=None, reason="", *, metadata=None, **extra
    ):
        """Queue a buy that could not be placed; `extra` keywords are metadata, as the old bot
        passed them."""
        metadata = {**extra, **(metadata or {})}
        return failed_orders.add(self.ctx, symbol, ticker, qty, close, reason, metadata)

    def get_failed_orders(self, now=None):
        return [
            shapes.failed_order(entry) for entry in failed_orders.valid_entries(self.account, now)
        ]

    def cleanup_expired_failed_orders(self, now=None):
        return failed_orders.expire(self.ctx, now)

    def mark_failed_order_retried(self, symbol, order_id):
        return failed_orders.mark_retried(self.ctx, symbol, order_id)

    def requeue_failed_order(self, entry_id, now=None):
        """Put an expired or dropped buy back in the queue for the bot's next pass."""
        return failed_orders.requeue(self.ctx, entry_id, now)

    def drop_failed_order(self, entry_id):
        """Take a waiting buy out of the queue; False when it is not waiting."""
        return failed_orders.drop(self.ctx, entry_id)

    def update_failed_order_metadata(self, entry_id, metadata):
        return failed_orders.update_metadata(self.ctx, entry_id, metadata)

    # History and repairs -------------------------------------------------------------

    def import_order(self, symbol, order_id, **recorded):
        with imports.importing():
            return imports.import_order(self.ctx, symbol, order_id, **recorded)

    def import_trade(self, symbol, **recorded):
        with imports.importing():
            return imports.import_trade(self.ctx, symbol, **recorded)

    def import_failed_order(self, symbol, **recorded):
        with imports.importing():
            return imports.import_failed_order(self.ctx, symbol, **recorded)

    def close_trade_from_sell(self, trade_id, order_id):
        return repairs.close_trade_from_sell(self.ctx, trade_id, order_id)

    def link_trade_exit(self, trade_id, order_id):
        return repairs.link_trade_exit(self.ctx, trade_id, order_id)

    def update_trade_notes(self, trade_id, metadata, exit_reason=""):
        return repairs.update_trade_notes(self.ctx, trade_id, metadata, exit_reason)

    # The positions check ---------------------------------------------------------------

    def accept_broker_quantity(self, symbol, price):
        """Make the ledger hold what the latest positions check saw at the broker."""
        mismatch = self._mismatch(symbol)
        return positions.accept_broker_quantity(self.ctx, symbol, mismatch.broker, price)

    def confirm_outside_holding(self, symbol):
        """Confirm the broker's extra of the latest check as held outside orderstate."""
        mismatch = self._mismatch(symbol)
        return positions.confirm_outside(self.ctx, symbol, mismatch.broker)

    def _mismatch(self, symbol):
        base = parse_symbol(symbol)[1]
        mismatch = mismatch_of(self.account, base)
        if mismatch is None:
            raise ValidationError(
                f"symbol: the latest positions check found no mismatch for {base}",
                fields={"symbol": ["no mismatch in the latest positions check"]},
            )
        return mismatch
