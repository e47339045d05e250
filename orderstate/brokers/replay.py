"""A broker that reads the broker's answers from a JSON file: a captured session replayed,
or a test's.

The file is either the old shape, one `order_report` body (or a bare list of
its rows), or an object holding the broker's raw bodies under `orders`,
`trades`, `positions` and `holdings`, each optional, so a whole captured session
can be replayed. Without `orders` the order book is empty; without `trades` the
sync follows the order book's cumulative figures; without both `positions` and
`holdings` the positions check is skipped.
"""

import json
from pathlib import Path

from orderstate.brokers.base import BrokerUnavailable
from orderstate.brokers.kotak_positions import parse_holdings
from orderstate.brokers.kotak_report import parse_order_report
from orderstate.brokers.kotak_trades import parse_trade_report

SESSION_KEYS = frozenset({"orders", "trades", "positions", "holdings"})
NO_ORDERS = {"stat": "Not_Ok", "stCode": 5203, "errMsg": "No Data"}


class ReplayBroker:
    name = "replay"

    def __init__(self, path):
        self.path = Path(path) if path else None

    def fetch_order_book(self):
        return parse_order_report(self._session().get("orders", NO_ORDERS))

    def fetch_trade_book(self):
        session = self._session()
        if "trades" not in session:
            raise BrokerUnavailable(f"replay broker: {self.path} holds no trade book")
        return parse_trade_report(session["trades"])

    def fetch_holdings(self):
        session = self._session()
        if "positions" not in session and "holdings" not in session:
            raise BrokerUnavailable(f"replay broker: {self.path} holds no positions or holdings")
        return parse_holdings(session.get("positions"), session.get("holdings"))

    def _session(self):
        """The file's bodies by name; an old-shape file is the order book alone."""
        if self.path is None:
            raise BrokerUnavailable(
                "replay broker: no file given (--file PATH or ORDERSTATE_REPLAY_FILE)"
            )
        try:
            body = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BrokerUnavailable(f"replay broker: cannot read {self.path}: {exc}") from None
        except ValueError as exc:
            raise BrokerUnavailable(f"replay broker: {self.path} is not JSON: {exc}") from None
        is_session = isinstance(body, dict) and body.keys() & SESSION_KEYS and "data" not in body
        return body if is_session else {"orders": body}
