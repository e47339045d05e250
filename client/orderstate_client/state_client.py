"""`OrderStateClient`: the manager's method names over HTTP, with retries where safe."""

import random
import time
from datetime import datetime
from urllib.parse import quote

import httpx

from orderstate_client import events, market
from orderstate_client.errors import InvalidTransition, OrderNotFound, ValidationError
from orderstate_client.http_errors import ServiceUnavailable, result
from orderstate_client.remote import (
    ACTIVE_STATUSES,
    RemoteOrder,
    failed_order_shape,
    json_value,
    pending_order_shape,
    trade_shape,
    when,
)
from orderstate_client.validation import (
    default_order_type,
    parse_metadata,
    parse_moment,
    parse_price,
    parse_quantity,
    parse_symbol,
    split_order_options,
)

API_PREFIX = "/api/v1/"
CLOSING_STATUSES = ("CANCELLED", "REJECTED")
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# How long one long poll of the event feed waits on the server (its limit is 30 s).
EVENT_WAIT_SECONDS = 25


UNFINISHED = ("requested", "running")  # a sync run's outcomes before it ends


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
            **{name: json_value(value) for name, value in options.items()},
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

    def record_fill(self, order_id, qty, price, fill_id=None, at=None):
        """Add a fill that executed at `at` (an aware datetime; default: now); without a
        `fill_id` a repeat would count twice, so it is not retried."""
        body = {
            "quantity": parse_quantity(qty),
            "price": str(parse_price(price, "price", places=4)),
        }
        if fill_id not in (None, ""):
            body["fill_id"] = str(fill_id)
        if at is not None:
            body["at"] = parse_moment(at).isoformat()
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
        orders.sort(key=lambda order: (when(order.get("placed_at")), order["broker_order_id"]))
        return [pending_order_shape(order) for order in orders]

    def get_trade_history(self):
        """{"trades": [...], "failed_orders": [...]} as the old trades_history.json held them."""
        trades = self._all_pages("trades/", {})
        trades.sort(key=lambda trade: (when(trade.get("entry_time")), trade.get("id") or 0))
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
            if entry.get("expires_at") is None or when(entry["expires_at"]) > now
        ]
        return [failed_order_shape(entry) for entry in entries]

    def cleanup_expired_failed_orders(self, now=None):
        """Take entries past their retry window out of the queue; returns how many."""
        now = now or datetime.now(market.IST)
        count = 0
        for entry in self._waiting_failed_orders():
            if entry.get("expires_at") is None or when(entry["expires_at"]) > now:
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
        entries.sort(key=lambda entry: (when(entry.get("first_failed_at")), entry.get("id") or 0))
        return entries

    # Broker ----------------------------------------------------------------------

    def sync_with_broker(self, wait=60.0, poll=0.5):
        """Ask the server's sync process for one reconciliation (staff only) and wait up to
        `wait` seconds for it; its stats dict and outcome (still "requested" or "running"
        when it did not finish in time)."""
        run = self._call("POST", "sync/", body={}, idempotent=False)
        deadline = time.monotonic() + wait
        while run.get("outcome") in UNFINISHED and time.monotonic() < deadline:
            self._sleep(poll)
            run = self._call("GET", f"sync-runs/{run['id']}/")
        return {**(run.get("stats") or {}), "outcome": run.get("outcome")}

    def get_order(self, order_id):
        return RemoteOrder.from_json(self._call("GET", _order_path(order_id)))

    def _active_sell_id(self, symbol):
        entry = self.get_active_order(symbol)
        return entry["order_id"] if entry else None

    # Events ------------------------------------------------------------------------

    def latest_event_id(self):
        """The newest event's id (0 while there is none): watch from it to see only what
        happens after this call."""
        return self._call("GET", "events/", params={"after": events.LATEST})["next_after"]

    def watch_events(self, after=None, kinds=None, *, wait=EVENT_WAIT_SECONDS):
        """Yield the server's events (`RemoteEvent`) after event id `after`, oldest first,
        forever: each request waits up to `wait` seconds for the next event.

        `after=None` starts at the newest event when the first request is served;
        to miss nothing from a moment on, take `latest_event_id()` at that moment and
        pass it. `kinds` (e.g. ["fill", "executed"]) keeps only those kinds. A network
        failure or 5xx is retried with backoff from the last page received, so no
        event is skipped or yielded twice; 401, 403 and a bad argument raise. Keep the
        last event's id to resume from it after the bot restarts.
        """
        cursor, kind = events.event_id(after), events.kinds_param(kinds)

        def read_page(after):
            params = {"after": after, "wait": wait, **({"kind": kind} if kind else {})}
            return self._call("GET", "events/", params=params, extra_wait=wait)

        def pause(failures):
            self._sleep(self._delay(failures))

        return events.watch(read_page, pause, cursor)

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

    def _call(self, method, path, *, body=None, params=None, idempotent=None, extra_wait=0):
        """One API call with retries; the decoded JSON body, or the mapped error.

        `extra_wait` is how long the server may hold the request before answering (a
        long poll), added to the read timeout.
        """
        timeout = self._http.timeout
        if extra_wait and timeout.read is not None:
            timeout = httpx.Timeout(timeout.connect, read=timeout.read + extra_wait)
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "PATCH", "DELETE")
        if self.account is not None and "?" not in path:
            params = {**(params or {}), "account": self.account}
        attempt = 0
        while True:
            retry_after = None
            try:
                response = self._http.request(
                    method, path, json=body, params=params, timeout=timeout
                )
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
                    return result(response)
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
