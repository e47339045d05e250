"""What Kotak Neo says the account holds in cash equities: `holdings()` (delivery holdings,
docs/functions/portfolio/holdings.md) plus today's net delivery (CNC) position from
`positions()` (docs/functions/portfolio/positions.md), per base symbol.

Positions count (cfBuyQty + flBuyQty) - (cfSellQty + flSellQty), Kotak's own
formula; intraday (MIS) and carry-forward (NRML) products and every segment but
`nse_cm`/`bse_cm` are left out. A symbol held on both exchanges is summed.
"""

from decimal import Decimal, InvalidOperation

from orderstate.brokers.base import BadBrokerRow, BrokerUnavailable, Holding, OtherSegment
from orderstate.brokers.kotak_fields import EMPTY, error_text, exchange_of, is_empty_answer, kind
from orderstate.errors import ValidationError
from orderstate.validation import parse_symbol

DELIVERY = "CNC"


class Holdings(dict):
    """{base symbol: Holding}, with the unreadable rows' messages and other rows skipped."""

    def __init__(self, holdings=(), errors=(), skipped=0):
        super().__init__()
        for holding in holdings:
            earlier = self.get(holding.symbol)
            if earlier is not None:
                holding = Holding(
                    holding.symbol,
                    earlier.quantity + holding.quantity,
                    earlier.average_price or holding.average_price,
                )
            self[holding.symbol] = holding
        self.errors = list(errors)
        self.skipped = skipped


def parse_holdings(positions_body, holdings_body):
    """Holdings plus today's CNC net position per symbol, as `Holdings`."""
    rows, errors, skipped = [], [], 0
    for name, body, parse in (
        ("holdings", holdings_body, _holding),
        ("positions", positions_body, _position),
    ):
        for index, row in enumerate(_rows(name, body)):
            try:
                holding = parse(row)
            except OtherSegment:
                skipped += 1
                continue
            except (BadBrokerRow, ValidationError) as exc:
                errors.append(f"{name} row {index}: {getattr(exc, 'detail', exc)}")
                continue
            if holding is None:
                skipped += 1
            else:
                rows.append(holding)
    return Holdings(rows, errors, skipped)


def _rows(name, body):
    if body is None or is_empty_answer(body):
        return []
    if isinstance(body, list):
        return body
    if not isinstance(body, dict):
        raise BrokerUnavailable(f"{name}: expected a JSON object, got {kind(body)}")
    rows = body.get("data")
    # Holdings come without stat; positions with "stat": "ok".
    stat = str(body.get("stat", "ok")).lower()
    if stat != "ok" or not isinstance(rows, list):
        raise BrokerUnavailable(f"{name}: broker answered {error_text(body)}")
    return rows


def _holding(row):
    if not isinstance(row, dict):
        raise BadBrokerRow(f"expected an object, got {kind(row)}")
    exchange_of(row.get("exchangeSegment"))
    symbol = row.get("symbol") if row.get("symbol") not in EMPTY else row.get("displaySymbol")
    base = parse_symbol(symbol, "symbol")[1]
    average = _decimal(row.get("averagePrice"), "averagePrice")
    return Holding(base, _count(row.get("quantity"), "quantity"), average if average else None)


def _position(row):
    if not isinstance(row, dict):
        raise BadBrokerRow(f"expected an object, got {kind(row)}")
    exchange_of(row.get("exSeg"))
    if str(row.get("prod", "")).strip().upper() != DELIVERY:
        return None
    symbol = row.get("trdSym") if row.get("trdSym") not in EMPTY else row.get("sym")
    base = parse_symbol(symbol, "trdSym")[1]
    bought = _count(row.get("cfBuyQty"), "cfBuyQty") + _count(row.get("flBuyQty"), "flBuyQty")
    sold = _count(row.get("cfSellQty"), "cfSellQty") + _count(row.get("flSellQty"), "flSellQty")
    return Holding(base, bought - sold)


def _count(raw, name):
    if raw in EMPTY:
        return 0
    value = _decimal(raw, name)
    if value != value.to_integral_value():
        raise BadBrokerRow(f"{name} {raw!r} is not a whole number of shares")
    return int(value)


def _decimal(raw, name):
    if raw in EMPTY:
        return None
    if isinstance(raw, bool):
        raise BadBrokerRow(f"{name} is a boolean")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadBrokerRow(f"{name} {raw!r} is not a number") from None
    if not value.is_finite():
        raise BadBrokerRow(f"{name} {raw!r} is not a number")
    return value
