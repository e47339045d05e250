"""What every API view shares: JSON only, pagination, the manager, account and version rules."""

from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer

from orderstate.api.parsers import ApiJSONParser
from orderstate.api.permissions import request_accounts
from orderstate.auth.rules import may_see
from orderstate.manager import OrderStateManager
from orderstate.models import DEFAULT_ACCOUNT, EventSource


class AmbiguousOrder(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "ambiguous_order"
    default_detail = "Several accounts have an order with this id; pass ?account=."


class ApiPagination(PageNumberPagination):
    """Pages of 50 (`page_size` up to 500). A `page` or `page_size` that is not a whole
    number from 1 is a 400 naming it, not a silent first page or default size; a page
    past the last is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        size = _positive_int(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request, paginator):
        if request.query_params.get(self.page_query_param) in self.last_page_strings:
            return paginator.num_pages
        return _positive_int(request, self.page_query_param) or 1


def _positive_int(request, name):
    """The query parameter `name` as a whole number from 1, or None when absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) < 1:
        raise ValidationError({name: ["must be a whole number from 1"]})
    return int(raw)


class ApiMixin:
    """JSON in, JSON out, paginated lists: the same for every endpoint."""

    parser_classes = [ApiJSONParser]
    renderer_classes = [JSONRenderer]
    pagination_class = ApiPagination

    def parse(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def manager(self, account):
        return OrderStateManager(source=EventSource.API, actor=self.request.user, account=account)

    def write_account(self, requested=None):
        """The account a write lands in: the token's own, else the one asked for, else the
        user's only granted account, else the default; 403 outside what the request may see."""
        accounts = request_accounts(self.request)
        only = next(iter(accounts)) if accounts is not None and len(accounts) == 1 else None
        account = requested or only or DEFAULT_ACCOUNT
        if not may_see(accounts, account):
            scoped = getattr(self.request.auth, "account", None)
            if scoped:
                raise PermissionDenied(f"This token may only change account {scoped!r}.")
            raise PermissionDenied(f"This user may not use account {account[:64]!r}.")
        return account

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


def printable_or_none(value, limit=64):
    return value if value and len(value) <= limit and value.isprintable() else None


def expected_version(request):
    """The version an If-Match header asks for; 0 (matches nothing) when unreadable."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tags = [tag.strip() for tag in header.split(",")]
    if "*" in tags:
        return None
    for tag in tags:
        digits = tag.removeprefix("W/").strip('"')
        if digits.isascii() and digits.isdigit() and len(digits) <= 9:
            return int(digits)
    return 0
