"""The bot's HTTP client, under the name it had before it became its own distribution.

The code lives in `client/` (the `orderstate-client` distribution, package
`orderstate_client`, needing only httpx); a bot installs that alone. This module
keeps `from orderstate.client import OrderStateClient` working where the server
is installed.
"""

from orderstate_client import (
    ApiError,
    NotAuthenticated,
    OrderStateClient,
    PermissionDenied,
    RemoteEvent,
    RemoteOrder,
    ServiceUnavailable,
    Throttled,
)

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
