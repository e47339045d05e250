"""Typed errors shared by the manager, the API and the HTTP client.

Here, in the client's distribution, so the bot raises and catches the very
classes the server raises (the server imports them as `orderstate.errors`).
"""


class OrderStateError(Exception):
    """Base of every error the order state raises on purpose."""

    code = "order_state_error"
    http_status = 400

    def __init__(self, detail, *, fields=None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}


class ValidationError(OrderStateError, ValueError):
    code = "validation_error"
    http_status = 400


class OrderNotFound(OrderStateError, LookupError):
    code = "not_found"
    http_status = 404


class DuplicateOrder(OrderStateError):
    code = "duplicate_order"
    http_status = 409


class InvalidTransition(OrderStateError):
    code = "invalid_transition"
    http_status = 409


class StaleVersion(OrderStateError):
    code = "stale_version"
    http_status = 412


ERRORS_BY_CODE = {
    cls.code: cls
    for cls in (
        OrderStateError,
        ValidationError,
        OrderNotFound,
        DuplicateOrder,
        InvalidTransition,
        StaleVersion,
    )
}
