"""Order books handed in by the old bot's `sync_with_broker(orders_api=..., broker_orders=...)`."""

from orderstate.brokers.base import BrokerUnavailable
from orderstate.brokers.kotak_report import parse_order_report


class GivenBook:
    """Raw Kotak rows or a whole `order_report` body, as `broker_orders=` hands them in."""

    name = "given"

    def __init__(self, rows):
        self.rows = rows

    def fetch_order_book(self):
        return parse_order_report(self.rows)


class OrdersApi:
    """Any object with `get_orders()` or `order_report()` returning a Kotak body."""

    name = "orders_api"

    def __init__(self, api):
        self.api = api

    def fetch_order_book(self):
        call = getattr(self.api, "get_orders", None) or getattr(self.api, "order_report", None)
        if call is None:
            raise BrokerUnavailable("orders_api has neither get_orders() nor order_report()")
        try:
            body = call()
        except Exception as exc:
            raise BrokerUnavailable(f"orders_api failed: {type(exc).__name__}: {exc}") from exc
        if body is None:
            raise BrokerUnavailable("orders_api returned None")
        return parse_order_report(body)
