"""Every API error as JSON `{"code", "detail", "fields"?}`, whatever raised it.

The bot's client turns `code` back into the typed error of `orderstate.errors`,
so codes of the order state's own errors are passed through unchanged.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from orderstate.errors import OrderStateError

log = logging.getLogger(__name__)

TOO_LARGE = "The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
# DRF's default codes, renamed where `orderstate.errors` already has a name for them.
CODES = {"invalid": "validation_error"}
# The manager's argument names, as the API's fields call them.
API_FIELD_NAMES = {
    "qty": "quantity",
    "order_id": "broker_order_id",
    "execution_price": "price",
    "execution_qty": "quantity",
    "new_price": "price",
    "close": "reference_price",
}


def error_body(code, detail, fields=None):
    body = {"code": code, "detail": str(detail)}
    if fields:
        body["fields"] = fields
    return body


def flatten_errors(detail, prefix=""):
    """DRF's nested error detail as {"field" or "field.sub": ["message", ...]}."""
    if isinstance(detail, dict):
        flat = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
        return flat
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(message) for message in messages]}


def _order_state_fields(fields):
    """The manager's `fields` under API names, each a list of messages."""
    renamed = {}
    for name, value in (fields or {}).items():
        if isinstance(value, dict):
            value = [f"{key}: {item}" for key, item in value.items()]
        elif not isinstance(value, list | tuple):
            value = [value]
        renamed[API_FIELD_NAMES.get(name, name)] = [str(item) for item in value]
    return renamed


def _order_state_detail(detail):
    name, colon, rest = str(detail).partition(":")
    return f"{API_FIELD_NAMES[name]}:{rest}" if colon and name in API_FIELD_NAMES else detail


def _summary(fields):
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())


def handle_exception(exc, context):
    """DRF's EXCEPTION_HANDLER: map every known error to its status and JSON body."""
    headers = {}
    if isinstance(exc, OrderStateError):
        code, http_status = exc.code, exc.http_status
        detail, fields = _order_state_detail(exc.detail), _order_state_fields(exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        code, detail, http_status = (
            "validation_error",
            _summary(fields),
            status.HTTP_400_BAD_REQUEST,
        )
    elif isinstance(exc, exceptions.APIException):
        code = CODES.get(exc.default_code, exc.default_code)
        detail, fields, http_status = exc.detail, None, exc.status_code
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    elif isinstance(exc, Http404):
        code, detail, fields, http_status = "not_found", "Not found.", None, 404
    elif isinstance(exc, DjangoPermissionDenied):
        code, detail, fields, http_status = "permission_denied", "Permission denied.", None, 403
    elif isinstance(exc, DataError):
        # A value the database cannot store that validation let through: still bad input.
        log.warning("database refused a value: %s", exc)
        code, detail, fields, http_status = (
            "validation_error",
            "A value is out of range for storage.",
            None,
            400,
        )
    else:
        return None
    return Response(error_body(code, detail, fields), status=http_status, headers=headers)


def _json(code, detail, http_status):
    return JsonResponse(error_body(code, detail), status=http_status)


def _is_api(request):
    return request.path.startswith("/api/")


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    """Django's handler400 (e.g. a body too large to read), JSON under /api/."""
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return _json("request_too_large", TOO_LARGE.format(settings=settings), 413)
        return _json("bad_request", str(exception) or "Bad request.", 400)
    return defaults.bad_request(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """Django's handler500, JSON under /api/ so the client can still read it."""
    if _is_api(request):
        return _json("server_error", "Internal server error.", 500)
    return defaults.server_error(request, template_name)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any path under /api/ that names no endpoint."""
    return _json("not_found", f"No API endpoint at {request.path}.", 404)
