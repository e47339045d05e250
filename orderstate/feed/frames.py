"""Raw order-feed frames, read the way Kotak sends them.

A frame is one websocket text message: `{"type":"order","data":{...}}` with the
keys of an `order_report` row, `{"type":"position","data":{...}}`, the
connection acknowledgement `{"ak":"ok","type":"cn",...}`, or anything else the
server may add. Reading never raises: a frame that is not JSON, not an object,
or an order whose row cannot be parsed is a BAD frame with the reason.
"""

import enum
import json
from dataclasses import dataclass

from orderstate.brokers.kotak_report import parse_rows


class Kind(enum.StrEnum):
    ORDER = "order"  # an order update that parsed into a BrokerOrder
    SKIPPED = "skipped"  # an order update the book's parser leaves out (another segment)
    POSITION = "position"  # a position update: not applied, the sync checks positions
    CONTROL = "control"  # the connection acknowledgement and other `cn` frames
    OTHER = "other"  # any other type: counted, ignored
    BAD = "bad"  # not JSON, not an object, or an order row that cannot be read


@dataclass(frozen=True)
class Frame:
    kind: Kind
    order: object = None  # the BrokerOrder of an ORDER frame
    received_ns: int | None = None  # the broker's `updRecvTm` of an order frame
    accepted: bool = True  # a CONTROL frame: False when the server refused the session
    problem: str = ""  # why a frame is BAD

    @property
    def order_id(self):
        return self.order.order_id if self.order is not None else None


def read_frame(raw):
    """The Frame of one raw message (text, bytes, or an already decoded object)."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return Frame(Kind.BAD, problem="not UTF-8 text")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return Frame(Kind.BAD, problem=f"not JSON: {raw[:80]!r}")
    if not isinstance(raw, dict):
        return Frame(Kind.BAD, problem=f"a JSON {type(raw).__name__}, not an object")
    kind = raw.get("type")
    if kind == "cn" or "ak" in raw:
        return Frame(Kind.CONTROL, accepted=str(raw.get("ak", "ok")).lower() == "ok")
    if kind == "position":
        return Frame(Kind.POSITION)
    if kind != "order":
        return Frame(Kind.OTHER)
    return _order_frame(raw.get("data"))


def _order_frame(row):
    if not isinstance(row, dict):
        return Frame(Kind.BAD, problem="an order frame without a `data` object")
    book = parse_rows([row])
    if book.errors:
        return Frame(Kind.BAD, problem=book.errors[0].removeprefix("row 0: "))
    if not book:
        return Frame(Kind.SKIPPED)
    return Frame(Kind.ORDER, order=book[0], received_ns=_nanoseconds(row.get("updRecvTm")))


def _nanoseconds(value):
    """The broker's receive time in ns (a number; a string of digits is taken too), or None."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
