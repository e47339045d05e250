"""Typed errors shared by the manager, the API and the HTTP client.

Defined once, in the client's distribution (`orderstate_client.errors`), so the
bot raises and catches the very classes the server raises; this name stays for
the server's code and for scripts that import it from here.
"""

from orderstate_client.errors import (
    ERRORS_BY_CODE,
    DuplicateOrder,
    InvalidTransition,
    OrderNotFound,
    OrderStateError,
    StaleVersion,
    ValidationError,
)

__all__ = [
    "ERRORS_BY_CODE",
    "DuplicateOrder",
    "InvalidTransition",
    "OrderNotFound",
    "OrderStateError",
    "StaleVersion",
    "ValidationError",
]
