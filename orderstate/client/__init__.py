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

from orderstate.client.errors import (
    ApiError,
    NotAuthenticated,
    PermissionDenied,
    ServiceUnavailable,
    Throttled,
)
from orderstate.client.remote import RemoteOrder
from orderstate.client.state_client import OrderStateClient

__all__ = [
    "ApiError",
    "NotAuthenticated",
    "OrderStateClient",
    "PermissionDenied",
    "RemoteOrder",
    "ServiceUnavailable",
    "Throttled",
]
