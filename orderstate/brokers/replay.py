"""A broker that reads its order book from a JSON file: a captured book replayed, or a test's."""

import json
from pathlib import Path

from orderstate.brokers.base import BrokerUnavailable
from orderstate.brokers.kotak_report import parse_order_report


class ReplayBroker:
    name = "replay"

    def __init__(self, path):
        self.path = Path(path) if path else None

    def fetch_order_book(self):
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
        return parse_order_report(body)
