"""Kotak `order_report` rows for tests: the recorded fixtures and a builder for single rows."""

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


def row(order_id, symbol, side, status, qty, filled=0, price="0.00", average="0.00", **extra):
    """One row as the order book sends it: numbers as strings, IST time text."""
    body = {
        "nOrdNo": str(order_id),
        "trdSym": f"{symbol}-EQ",
        "sym": symbol,
        "trnsTp": side,
        "ordSt": status,
        "qty": str(qty),
        "fldQty": str(filled),
        "unFldSz": str(qty - filled),
        "prc": price,
        "avgPrc": average,
        "trgPrc": "0.00",
        "prcTp": "L" if price != "0.00" else "MKT",
        "prod": "CNC",
        "exSeg": "nse_cm",
        "rejRsn": "--",
        "ordDtTm": "21-Jun-2022 14:49:32",
        "vldt": "DAY",
        "stat": "Ok",
    }
    body.update(extra)
    return body


def book(*order_rows):
    return {"stat": "Ok", "stCode": 200, "data": list(order_rows)}


def placed_in(seconds):
    """`ordDtTm` text for a moment `seconds` from now, as the book writes times (IST)."""
    moment = (timezone.now() + timedelta(seconds=seconds)).astimezone(IST)
    return moment.strftime("%d-%b-%Y %H:%M:%S")
