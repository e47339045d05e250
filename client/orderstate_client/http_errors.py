"""The client's errors: the manager's own classes for the answers it has one for, and
a few of the HTTP layer's (401, 403, 429, an unreachable server)."""

from orderstate_client.errors import (
    ERRORS_BY_CODE,
    OrderNotFound,
    OrderStateError,
    StaleVersion,
    ValidationError,
)


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


def result(response):
    """The JSON of a successful answer; the matching error raised for any other."""
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
