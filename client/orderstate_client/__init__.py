"""HTTP client for the bot, with `OrderStateManager`'s method names and return shapes.

An existing bot swaps one constructor:

    state = OrderStateClient("http://127.0.0.1:8000", token)   # was OrderStateManager()

Reads return the manager's legacy dicts (numbers as floats, times as naive IST
text). Writes that the manager answers with an `Order` model return a
`RemoteOrder`: a read-only object with the same attribute names (money as
`Decimal`, times as aware `datetime`). Errors are the manager's own classes
from `orderstate_client.errors` (the server's `orderstate.errors` are the same
classes), chosen by the JSON `code` of a 4xx answer; failures of the transport
or the server raise `ServiceUnavailable`.

`watch_events()` follows the server's audit log (`RemoteEvent`s: a fill, an
execution, a rejection...) with long polls, resuming where it stopped after any
network failure.

Calls that are safe to repeat (reads, registration, execution, cancel, price
change, a fill with a `fill_id`) are retried on connection errors, 429 and
502-504 with bounded exponential backoff and jitter. Other calls are retried only when
the request provably never reached the server (connect errors).

Its own distribution (`orderstate-client`, in the repository's `client/`), needing
only httpx. The server depends on it for the modules both sides share: `errors`,
`validation`, `money` and `market` (IST); `orderstate.client` re-exports it.
"""

from orderstate_client.events import RemoteEvent
from orderstate_client.http_errors import (
    ApiError,
    NotAuthenticated,
    PermissionDenied,
    ServiceUnavailable,
    Throttled,
)
from orderstate_client.remote import RemoteOrder
from orderstate_client.state_client import OrderStateClient

__all__ = [
    "ApiError",
    "NotAuthenticated",
    "OrderStateClient",
    "PermissionDenied",
    "RemoteEvent",
    "RemoteOrder",
    "ServiceUnavailable",
    "Throttled",
]
