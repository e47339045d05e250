"""Kotak `order_report` rows for tests: the fixtures (tests/fixtures/kotak, sources in its
SOURCES.md) and a builder for single rows in the documented shape."""

import json
from datetime import timedelta

from django.utils import timezone

from orderstate.market import IST
from tests.paths import RECORDED

FIXTURES = RECORDED / "kotak"


def load(name):
    """A fixture body from tests/fixtures/kotak/<name>.json."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def rows(name):
    return load(name)["data"]


# The documented row (docs/functions/orders/order_report.md): every key, Kotak's types.
TEMPLATE = load("order_report_ok")["data"][0]


def row(order_id, symbol, side, status, qty, filled=0, price="0.00", average="0.00", **extra):
    """One row as the order book sends it: the documented keys and types, IST time text."""
    body = dict(TEMPLATE)
    body.update(
        {
            "nOrdNo": str(order_id),
            "trdSym": f"{symbol}-EQ",
            "sym": symbol,
            "trnsTp": side,
            "ordSt": status,
            "stat": status,
            "qty": qty,
            "fldQty": filled,
            "unFldSz": qty - filled if isinstance(qty, int) and isinstance(filled, int) else 0,
            "prc": price,
            "avgPrc": average,
            "trgPrc": "0.00",
            "prcTp": "L" if price != "0.00" else "MKT",
            "prod": "CNC",
            "exSeg": "nse_cm",
            "rejRsn": "--",
            "ordDtTm": "21-Jun-2022 14:49:32",
            "vldt": "DAY",
        }
    )
    body.update(extra)
    return body


def book(*order_rows):
    return {"stat": "Ok", "stCode": 200, "data": list(order_rows)}


def fill(order_id, fill_id, qty, price, at, symbol="TCS", side="B"):
    """One trade-book row (docs/functions/orders/trade_report.md) for a fill at `at`."""
    moment = at.astimezone(IST)
    body = dict(load("trade_report_ok")["data"][0])
    body.update(
        {
            "nOrdNo": str(order_id),
            "flId": str(fill_id),
            "fldQty": qty,
            "avgPrc": price,
            "flDt": moment.strftime("%d-%b-%Y"),
            "flTm": moment.strftime("%H:%M:%S"),
            "exTm": moment.strftime("%d-%b-%Y %H:%M:%S"),
            "trdSym": f"{symbol}-EQ",
            "sym": symbol,
            "trnsTp": side,
        }
    )
    return body


def trades(*fill_rows):
    return {"stat": "ok", "stCode": 200, "data": list(fill_rows)}


def placed_in(seconds):
    """`ordDtTm` text for a moment `seconds` from now, as the book writes times (IST)."""
    moment = (timezone.now() + timedelta(seconds=seconds)).astimezone(IST)
    return moment.strftime("%d-%b-%Y %H:%M:%S")
