"""HTTP client for the bot, with `OrderStateManager`'s method names and return shapes.

An existing bot swaps one constructor:

    state = OrderStateClient("http://127.0.0.1:8000", token)   # was OrderStateManager()

Reads return the manager's legacy dicts (numbers as floats, times as naive IST
text). Writes that the manager answers with an `Order` model return a
`RemoteOrder`: a read-only object with the same attribute names (money as
`Decimal`, times as aware `datetime`). Errors are the manager's own classes
from `orderstate.errors`, chosen by the JSON `code` of a 4xx answer; failures
of the transport or the server raise `ServiceUnavailable`.

Calls that are safe to repeat (reads, registration, execution, cancel, price
change, a fill with a `fill_id`) are retried on connection errors, 429 and
502-504 with bounded exponential backoff and jitter. Other calls are retried only when
the request provably never reached the server (connect errors).

Needs only `httpx` and the Django-free `orderstate.errors` and `orderstate.validation`.
"""

import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import httpx

from orderstate import market
from orderstate.errors import (
    ERRORS_BY_CODE,
    InvalidTransition,
    OrderNotFound,
    OrderStateError,
    StaleVersion,
    ValidationError,
)
from orderstate.validation import (
    default_order_type,
    parse_metadata,
    parse_price,
    parse_quantity,
    parse_symbol,
    split_order_options,
)

API_PREFIX = "/api/v1/"
ACTIVE_STATUSES = ("PARTIALLY_FILLED", "OPEN", "PENDING")
CLOSING_STATUSES = ("CANCELLED", "REJECTED")
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class ApiError(OrderStateError):
    """An answer the manager has no class for (401, 403, 405, 415, other 4xx)."""

    code = "api_error"

    def __init__(self, detail, *, fields=None, status_code=None):
        super().__init__(detail, fields=fields)
        self.status_code = status_code


class NotAuthenticated(ApiError):
    code = "not_authenticated"
    http_status = 401


class PermissionDenied(ApiError):
    code = "permission_denied"
    http_status = 403


class Throttled(ApiError):
    code = "throttled"
    http_status = 429


class ServiceUnavailable(ApiError, ConnectionError):
    """The server could not be reached or answered 5xx after the retries."""

    code = "service_unavailable"
    http_status = 503


ERRORS_BY_STATUS = {
    400: ValidationError,
    401: NotAuthenticated,
    403: PermissionDenied,
    404: OrderNotFound,
    412: StaleVersion,
    429: Throttled,
}
CLIENT_ERRORS_BY_CODE = {
    **ERRORS_BY_CODE,
    "not_authenticated": NotAuthenticated,
    "authentication_failed": NotAuthenticated,
    "permission_denied": PermissionDenied,
    "throttled": Throttled,
}


def _decimal(value):
    return None if value is None else Decimal(str(value))


def _when(value):
    return None if not value else datetime.fromisoformat(value)


@dataclass(frozen=True)
class RemoteOrder:
    """An order as the API returned it; the attribute names of `orderstate.models.Order`."""

    broker_order_id: str
    symbol: str
    base_symbol: str
    side: str
    status: str
    quantity: int
    filled_quantity: int = 0
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    average_price: Decimal | None = None
    account: str = "default"
    trade: int | None = None
    ticker: str = ""
    exchange: str = ""
    order_type: str = ""
    variety: str = ""
    product: str = ""
    status_reason: str = ""
    broker_status: str = ""
    version: int = 1
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    last_synced_at: datetime | None = None
    missing_count: int = 0
    source: str = ""
    metadata: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data):
        known = {name for name in cls.__dataclass_fields__ if name != "raw"}
        values = {name: data[name] for name in known if data.get(name) is not None}
        for name in ("price", "trigger_price", "average_price"):
            values[name] = _decimal(data.get(name))
        for name in ("placed_at", "updated_at", "closed_at", "last_synced_at"):
            values[name] = _when(data.get(name))
        return cls(**values, raw=dict(data))

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES

    @property
    def remaining_quantity(self):
        return self.quantity - self.filled_quantity


def legacy_time(text):
    """An API time as the old files stored times (see `orderstate.market.legacy_time`)."""
    return market.legacy_time(_when(text))


def _float(value):
    return None if value is None else float(value)


def pending_order_shape(order):
    """An API order as the old tracker's `pending_orders.json` entry (as `shapes.pending_order`)."""
    metadata = order.get("metadata") or {}
    return {
        **metadata,
        "order_id": order["broker_order_id"],
        "symbol": order["symbol"],
        "ticker": order.get("ticker", ""),
        "side": order["side"],
        "qty": order["quantity"],
        "order_type": order.get("order_type"),
        "variety": order.get("variety"),
        "price": _float(order.get("price")),
        "placed_at": legacy_time(order.get("placed_at")),
        "last_status_check": legacy_time(order.get("last_synced_at")),
        "status": order["status"],
        "rejection_reason": order.get("status_reason") or None,
        "check_count": metadata.get("check_count", 0),
        "executed_qty": order.get("filled_quantity", 0),
    }


def trade_shape(trade):
    """An API trade as an entry of the old `trades` list (as `shapes.trade`)."""
    metadata = trade.get("metadata") or {}
    status = (trade.get("status") or "").upper()
    shape = {
        **metadata,
        "symbol": trade["symbol"],
        "placed_symbol": trade.get("entry_symbol") or metadata.get("placed_symbol"),
        "ticker": trade.get("ticker", ""),
        "entry_price": _float(trade.get("entry_price")),
        "entry_time": legacy_time(trade.get("entry_time")),
        "qty": trade["quantity"],
        "status": status.lower(),
        "order_id": trade.get("entry_order") or metadata.get("order_id"),
    }
    if status == "CLOSED":
        pnl = _decimal(trade.get("realised_pnl")) or Decimal(0)
        cost = _decimal(trade["entry_price"]) * trade["quantity"]
        shape.update(
            exit_price=_float(trade.get("exit_price")),
            exit_time=legacy_time(trade.get("exit_time")),
            exit_reason=trade.get("exit_reason") or None,
            sell_order_id=trade.get("exit_order") or metadata.get("sell_order_id"),
            pnl=float(pnl),
            pnl_pct=round(float(pnl / cost * 100), 2) if cost else 0.0,
        )
    return shape


def failed_order_shape(entry):
    """An API failed-order entry as the old `failed_orders` list held it."""
    return {
        **(entry.get("metadata") or {}),
        "symbol": entry.get("trading_symbol") or entry["symbol"],
        "ticker": entry.get("ticker", ""),
        "qty": entry["quantity"],
        "close": _float(entry.get("reference_price")),
        "reason": entry.get("reason", ""),
        "first_failed_at": legacy_time(entry.get("first_failed_at")),
        "retry_count": entry.get("retry_count", 0),
        "last_retry_attempt": legacy_time(entry.get("last_retry_at")),
        "status": entry.get("status"),
    }


def _json_value(value):
    """Money as text, so no float rounding happens between the bot and the database."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"not a finite number: {value!r}")
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class OrderStateClient:
    """The manager's verbs over HTTP. Use as a context manager, or call `close()`.

    `account`, like the manager's, names the account to read and write. None
    leaves it to the server: a token scoped to an account uses that account;
    otherwise writes and the active-sell dict use "default" and lists cover all.
    """

    def __init__(
        self,
        base_url,
        token,
        timeout=10.0,
        *,
        account=None,
        retries=3,
        backoff=0.25,
        max_backoff=4.0,
        transport=None,
        sleep=time.sleep,
    ):
        self.account = account
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": "orderstate-client/1",
            },
            timeout=timeout,
            transport=transport,
        )

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # Registration ------------------------------------------------------------

    def register_sell_order(self, symbol, order_id, target_price, qty, ticker=None, **options):
        return self.register_order("SELL", symbol, order_id, target_price, qty, ticker, **options)

    def register_buy_order(self, symbol, order_id, price=None, qty=None, ticker=None, **options):
        options.setdefault("order_type", default_order_type("BUY", price))
        return self.register_order("BUY", symbol, order_id, price, qty, ticker, **options)

    def register_order(
        self, side, symbol, order_id, price, qty, ticker=None, *, metadata=None, **options
    ):
        """POST /orders/; repeating an identical registration returns the same order.

        `options` are order fields (account, exchange, order_type, ...); any other
        keyword is the bot's metadata, as with `OrderStateManager`.
        """
        options, extra = split_order_options(options)
        if self.account is not None:
            options.setdefault("account", self.account)
        body = {
            "side": side,
            "symbol": symbol,
            "broker_order_id": str(order_id),
            "price": None if price is None else str(parse_price(price, "price")),
            "quantity": parse_quantity(qty),
            "ticker": ticker or "",
            **{name: _json_value(value) for name, value in options.items()},
        }
        metadata = {**extra, **(metadata or {})}
        if metadata:
            body["metadata"] = parse_metadata(metadata)
        body = {name: value for name, value in body.items() if value is not None}
        return RemoteOrder.from_json(self._call("POST", "orders/", body=body, idempotent=True))

    # Fills and execution -------------------------------------------------------

    def mark_order_executed(self, symbol, order_id, execution_price, execution_qty=None):
        """Execute the whole order; `order_id=None` means the symbol's active sell order."""
        base = parse_symbol(symbol)[1]
        price = parse_price(execution_price, "execution_price", places=4)
        if order_id is None:
            order_id = self._active_sell_id(symbol)
            if order_id is None:
                raise OrderNotFound(f"no active sell order for {base}")
        else:
            # The manager refuses an execution under the wrong symbol; so do we, before writing.
            order = self.get_order(order_id)
            if order.base_symbol != base:
                raise ValidationError(
                    f"symbol: order {order.broker_order_id} is for {order.base_symbol}, not {base}",
                    fields={"symbol": [f"order is for {order.base_symbol}"]},
                )
        body = {"price": str(price)}
        if execution_qty is not None:
            body["quantity"] = parse_quantity(execution_qty, "execution_qty")
        return self._order_action(order_id, "execute/", body, idempotent=True)

    def record_fill(self, order_id, qty, price, fill_id=None):
        """Add a fill; without a `fill_id` a repeat would count twice, so it is not retried."""
        body = {
            "quantity": parse_quantity(qty),
            "price": str(parse_price(price, "price", places=4)),
        }
        if fill_id not in (None, ""):
            body["fill_id"] = str(fill_id)
        return self._order_action(order_id, "fills/", body, idempotent="fill_id" in body)

    # Price and tracking ----------------------------------------------------------

    def update_sell_order_price(self, symbol, new_price):
        """Move the symbol's active sell order to a new target; False when there is none."""
        price = str(parse_price(new_price, "new_price"))
        return self._on_active_sell(
            symbol,
            lambda order_id: self._call("PATCH", _order_path(order_id), body={"price": price}),
        )

    def remove_from_tracking(self, symbol, reason=None, status="CANCELLED"):
        """Stop tracking the symbol's active sell order; False when nothing is tracked."""
        status = str(status).strip().upper()
        if status not in CLOSING_STATUSES:
            raise ValidationError(
                f"status: stop tracking as CANCELLED or REJECTED, not {status}",
                fields={"status": ["must be CANCELLED or REJECTED"]},
            )
        body = {"reason": reason or "", "status": status}
        return self._on_active_sell(
            symbol, lambda order_id: self._order_action(order_id, "cancel/", body, idempotent=True)
        )

    def _on_active_sell(self, symbol, change):
        """Apply `change` to the symbol's active sell order; False when it has none.

        The order can close between the lookup and the change (the sync saw it
        execute): then look again, as the manager decides on the locked row.
        """
        tried = set()
        while True:
            order_id = self._active_sell_id(symbol)
            if order_id is None or order_id in tried:
                return False
            tried.add(order_id)
            try:
                change(order_id)
            except (InvalidTransition, OrderNotFound):
                continue
            return True

    # Reads in the old bot's shapes -------------------------------------------------

    def get_active_sell_orders(self):
        """{"RELIANCE": {"order_id", "target_price", "qty", "symbol", "ticker", ...}}."""
        return self._call("GET", "active-sell-orders/")

    def get_active_order(self, symbol):
        return self.get_active_sell_orders().get(parse_symbol(symbol)[1])

    def get_pending_orders(self, status_filter=None):
        """Orders as the old tracker listed them; by default the active ones."""
        if status_filter is None:
            statuses = ACTIVE_STATUSES
        elif isinstance(status_filter, str):
            statuses = [status_filter]
        else:
            statuses = list(status_filter)
        params = {"status": ",".join(str(s).strip().upper() for s in statuses)}
        orders = self._all_pages("orders/", params)
        orders.sort(key=lambda order: (_when(order.get("placed_at")), order["broker_order_id"]))
        return [pending_order_shape(order) for order in orders]

    def get_trade_history(self):
        """{"trades": [...], "failed_orders": [...]} as the old trades_history.json held them."""
        trades = self._all_pages("trades/", {})
        trades.sort(key=lambda trade: (_when(trade.get("entry_time")), trade.get("id") or 0))
        return {
            "trades": [trade_shape(trade) for trade in trades],
            "failed_orders": [failed_order_shape(entry) for entry in self._waiting_failed_orders()],
        }

    # Failed-buy retry queue ------------------------------------------------------

    def add_failed_order(
        self, symbol, ticker=None, qty=None, close=None, reason="", *, metadata=None, **extra
    ):
        """Queue a buy that could not be placed; returns the entry's JSON (a dict).

        A repeat counts one more retry, so this is not retried once the request
        may have reached the server.
        """
        body = {
            "symbol": symbol,
            "ticker": ticker or "",
            "quantity": parse_quantity(qty),
            "reason": reason or "",
        }
        if close is not None:
            body["reference_price"] = str(parse_price(close, "close"))
        if self.account is not None:
            body["account"] = self.account
        metadata = {**extra, **(metadata or {})}
        if metadata:
            body["metadata"] = parse_metadata(metadata)
        return self._call("POST", "failed-orders/", body=body, idempotent=False)

    def get_failed_orders(self, now=None):
        """Waiting entries still valid (until the next market open), in the legacy shape."""
        now = now or datetime.now(market.IST)
        entries = [
            entry
            for entry in self._waiting_failed_orders()
            if entry.get("expires_at") is None or _when(entry["expires_at"]) > now
        ]
        return [failed_order_shape(entry) for entry in entries]

    def cleanup_expired_failed_orders(self, now=None):
        """Take entries past their retry window out of the queue; returns how many."""
        now = now or datetime.now(market.IST)
        count = 0
        for entry in self._waiting_failed_orders():
            if entry.get("expires_at") is None or _when(entry["expires_at"]) > now:
                continue
            try:
                self._call("DELETE", f"failed-orders/{int(entry['id'])}/")
            except (InvalidTransition, OrderNotFound):
                continue  # another process took it out first
            count += 1
        return count

    def _waiting_failed_orders(self):
        entries = self._all_pages("failed-orders/", {"status": "WAITING"})
        entries = [entry for entry in entries if entry.get("status", "WAITING") == "WAITING"]
        entries.sort(key=lambda entry: (_when(entry.get("first_failed_at")), entry.get("id") or 0))
        return entries

    # Broker ----------------------------------------------------------------------

    def sync_with_broker(self):
        """Run one reconciliation on the server (staff only); its stats dict and outcome."""
        run = self._call("POST", "sync/", body={}, idempotent=False)
        return {**(run.get("stats") or {}), "outcome": run.get("outcome")}

    def get_order(self, order_id):
        return RemoteOrder.from_json(self._call("GET", _order_path(order_id)))

    def _active_sell_id(self, symbol):
        entry = self.get_active_order(symbol)
        return entry["order_id"] if entry else None

    # Transport ---------------------------------------------------------------------

    def _order_action(self, order_id, action, body, *, idempotent):
        data = self._call("POST", _order_path(order_id) + action, body=body, idempotent=idempotent)
        return RemoteOrder.from_json(data)

    def _all_pages(self, path, params):
        results = []
        data = self._call("GET", path, params=params)
        while True:
            if isinstance(data, list):
                return results + data
            results.extend(data["results"])
            if not data.get("next"):
                return results
            data = self._call("GET", data["next"])

    def _call(self, method, path, *, body=None, params=None, idempotent=None):
        """One API call with retries; the decoded JSON body, or the mapped error."""
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "PATCH", "DELETE")
        if self.account is not None and "?" not in path:
            params = {**(params or {}), "account": self.account}
        attempt = 0
        while True:
            retry_after = None
            try:
                response = self._http.request(method, path, json=body, params=params)
            except httpx.TransportError as exc:
                # A request that never connected cannot have changed anything.
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if not (idempotent or never_sent) or attempt >= self.retries:
                    raise ServiceUnavailable(
                        f"{method} {path}: {type(exc).__name__}: {exc}"
                    ) from exc
            else:
                if not (
                    response.status_code in RETRY_STATUSES and idempotent and attempt < self.retries
                ):
                    return _result(response)
                retry_after = _retry_after(response)
            self._sleep(self._delay(attempt, retry_after))
            attempt += 1

    def _delay(self, attempt, retry_after=None):
        """Exponential backoff with full jitter, bounded by `max_backoff`; Retry-After wins."""
        if retry_after is not None:
            return min(self.max_backoff, retry_after)
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))


def _order_path(order_id):
    return f"orders/{quote(str(order_id), safe='')}/"


def _retry_after(response):
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _result(response):
    if response.status_code < 400:
        return response.json() if response.content else None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = body.get("detail") or response.reason_phrase or f"HTTP {response.status_code}"
    fields = body.get("fields")
    if response.status_code >= 500:
        raise ServiceUnavailable(
            f"{response.request.method} {response.request.url.path}: "
            f"HTTP {response.status_code}: {detail}",
            status_code=response.status_code,
        )
    cls = CLIENT_ERRORS_BY_CODE.get(body.get("code")) or ERRORS_BY_STATUS.get(
        response.status_code, ApiError
    )
    if issubclass(cls, ApiError):
        error = cls(str(detail), fields=fields, status_code=response.status_code)
    else:
        error = cls(str(detail), fields=fields)
        error.status_code = response.status_code
    raise error
