"""Kotak's real-time order feed, opened through the SDK (`NeoAPI.create_order_feed()`).

The SDK's client (`OrderFeedWebSocket`, the `websockets` library) sends the
session's token in a handshake frame and receives `{"type":"order","data":...}`
frames. Its own reconnect is turned off: it ends iteration on some drops and
never notices others (a server that closes right after a burst), so the stream
owns reconnection, with backoff, a watchdog and a full sync after each connect.
"""

from orderstate.brokers.base import BrokerUnavailable
from orderstate.env import env_str

FEED_URL_VARIABLE = "KOTAK_FEED_URL"


def open_order_feed(broker, *, url=None, ping_interval=20):
    """A new, unconnected SDK order-feed client for `broker` (a KotakBroker), logged in first.

    `url` (default the KOTAK_FEED_URL environment variable, else the
    one the login returned) points it elsewhere, e.g. at a local test server.
    Raises BrokerUnavailable when the login fails.
    """
    if not broker.logged_in:
        broker._login()
    url = url or env_str(FEED_URL_VARIABLE) or None
    options = {"url": url} if url else {}
    try:
        return broker.client.create_order_feed(
            max_reconnect_attempts=0,
            max_connect_retries=0,
            reconnect_delay=0,
            ping_interval=ping_interval,
            **options,
        )
    except ValueError as exc:  # the SDK's word for "not logged in" or "no feed URL"
        raise BrokerUnavailable(f"kotak: cannot open the order feed: {exc}") from None


def forget_session(broker):
    """The feed refused the session's token: the next `open_order_feed` logs in again."""
    broker.logged_in = False
