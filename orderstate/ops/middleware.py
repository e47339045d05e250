"""The project's own middleware: request counts for /metrics, and a 503 instead of a 500
when the database goes away mid-request. (The Content-Security-Policy is django-csp's.)
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from orderstate.ops.prometheus import count_request

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
JSON_PATH_PREFIXES = ("/api/", "/healthz", "/metrics")
UNAVAILABLE_DETAIL = "The database is unavailable; retry shortly."
UNAVAILABLE_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    "<title>Service unavailable</title></head><body><h1>Service unavailable</h1>"
    "<p>The database cannot be reached. Try again in a few seconds.</p></body></html>"
)


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection into a 503 with Retry-After.

    The bot's client retries a 503 with the same idempotency key (the broker
    order id or fill id), so a retried call never duplicates a change. The error
    is logged once, without its stack trace, and never shown to the user.
    Django closes the broken connection when the request finishes, so the next
    request reconnects.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        log.error(
            "database unavailable during %s %s: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            str(exception).strip().splitlines()[0] if str(exception).strip() else "",
        )
        if request.path.startswith(JSON_PATH_PREFIXES):
            response = JsonResponse(
                {"code": "database_unavailable", "detail": UNAVAILABLE_DETAIL}, status=503
            )
        else:
            response = HttpResponse(UNAVAILABLE_PAGE, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        # Logged above with its cause; stop django.request adding a second line.
        response._has_been_logged = True
        return response


class RequestCountMiddleware:
    """Counts every response by method and status for `/metrics`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        count_request(request.method, response.status_code)
        return response
