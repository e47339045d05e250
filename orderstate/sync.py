"""Reconciliation of local order state with a broker's order book (issue: broker sync)."""


def sync_with_broker(manager, orders_api=None, broker_orders=None):
    raise NotImplementedError("broker sync is not built yet")
