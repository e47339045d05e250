"""Request bodies and calls shared by the API tests (imported by name)."""

ORDERS = "/api/v1/orders/"
SELL = {
    "broker_order_id": "240101000001",
    "symbol": "RELIANCE-EQ",
    "side": "SELL",
    "quantity": 10,
    "price": "2500.00",
    "ticker": "RELIANCE.NS",
    "metadata": {"rsi10": 28.4, "ema9": 2410.5},
}


def register(client, **overrides):
    """POST /orders/ with the SELL body, `overrides` replacing its fields."""
    body = {**SELL, **overrides}
    return client.post(ORDERS, body, format="json")
