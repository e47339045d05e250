"""The bot's REST API. Views parse input, call `OrderStateManager`, render the result.

Orders are addressed by `broker_order_id`; every queryset goes through
`scoped_orders` so a token for one account cannot see another's rows (404).
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, MethodNotAllowed, NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from orderstate import retry_queue
from orderstate.api import serializers as s
from orderstate.api.filters import FailedOrderFilter, OrderFilter, SyncRunFilter, TradeFilter
from orderstate.api.permissions import CanReadOrders, CanWriteOrders, scoped_orders
from orderstate.api.schema import ACCOUNT, IF_MATCH, LIST, READ, WRITE, errors
from orderstate.errors import InvalidTransition, ValidationError
from orderstate.manager import OrderStateManager
from orderstate.models import (
    DEFAULT_ACCOUNT,
    EventSource,
    FailedOrder,
    Order,
    OrderEvent,
    Side,
    SyncRun,
    Trade,
)
from orderstate.validation import parse_order_id


class AmbiguousOrder(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "ambiguous_order"
    default_detail = "Several accounts have an order with this id; pass ?account=."


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ApiMixin:
    # JSON in, JSON out, paginated lists: the same for every endpoint.

    parser_classes = [JSONParser]
    pagination_class = ApiPagination

    def parse(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def manager(self, account):
        return OrderStateManager(source=EventSource.API, actor=self.request.user, account=account)

    def write_account(self, requested=None):
        """The account a write lands in: the token's own, else the one asked for."""
        scoped = getattr(self.request.auth, "account", None)
        if scoped and requested and requested != scoped:
            raise PermissionDenied(f"This token may only change account {scoped!r}.")
        return scoped or requested or DEFAULT_ACCOUNT

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)


def _printable_or_none(value, limit=64):
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


@extend_schema_view(
    list=extend_schema(
        summary="List orders",
        responses={200: s.OrderSerializer(many=True), **errors(*LIST)},
    ),
    create=extend_schema(
        summary="Register an order",
        description=(
            "201 with the new order; the identical request again answers 200 with the same "
            "order. The same id with other fields, or a second active SELL for a symbol "
            'without `"replace": true`, answers 409 duplicate_order.'
        ),
        request=s.OrderRegisterSerializer,
        responses={
            201: OpenApiResponse(s.OrderSerializer, description="Registered"),
            200: OpenApiResponse(s.OrderSerializer, description="Already registered, same fields"),
            **errors(400, 401, 403, 405, 409, 415),
        },
    ),
    retrieve=extend_schema(
        summary="One order",
        parameters=[ACCOUNT],
        responses={200: s.OrderSerializer, **errors(*READ, 409)},
    ),
    partial_update=extend_schema(
        summary="Change the price of an active order",
        parameters=[ACCOUNT, IF_MATCH],
        request=s.PriceUpdateSerializer,
        responses={200: s.OrderSerializer, **errors(*WRITE, 412)},
    ),
)
class OrderViewSet(ApiMixin, GenericViewSet):
    """Orders, addressed by the broker's order id. Every action answers with the whole order."""

    serializer_class = s.OrderSerializer
    permission_classes = [CanWriteOrders]
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter
    lookup_field = "broker_order_id"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return scoped_orders(self.request, Order.objects.all())

    def get_object(self):
        try:
            order_id = parse_order_id(self.kwargs["broker_order_id"])
        except ValidationError:
            raise NotFound("No order with this id.") from None
        orders = self.get_queryset().filter(broker_order_id=order_id)
        if "account" in self.request.query_params:
            account = _printable_or_none(self.request.query_params["account"])
            orders = orders.filter(account=account) if account else orders.none()
        found = list(orders[:2])
        if not found:
            raise NotFound(f"No order with id {order_id}.")
        if len(found) > 1:
            raise AmbiguousOrder()
        return found[0]

    def order_response(self, order, http_status=status.HTTP_200_OK):
        response = Response(self.get_serializer(order).data, status=http_status)
        response["ETag"] = f'"{order.version}"'
        return response

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.OrderSerializer)

    def create(self, request):
        data = self.parse(s.OrderRegisterSerializer)
        manager = self.manager(self.write_account(data.pop("account", None)))
        metadata = data.pop("metadata", {})
        if data["side"] == Side.BUY and data.get("price") is None:
            data.setdefault("order_type", "MARKET")
        order, created = manager.register_or_get(
            data.pop("side"),
            data.pop("symbol"),
            data.pop("broker_order_id"),
            data.pop("price", None),
            data.pop("quantity"),
            data.pop("ticker", None),
            replace=data.pop("replace"),
            **data,
            **metadata,
        )
        return self.order_response(
            order, status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def retrieve(self, request, broker_order_id):
        return self.order_response(self.get_object())

    def partial_update(self, request, broker_order_id):
        order = self.get_object()
        data = self.parse(s.PriceUpdateSerializer)
        order = self.manager(order.account).update_price(
            order.broker_order_id, data["price"], expected_version=expected_version(request)
        )
        return self.order_response(order)

    @extend_schema(
        summary="Record a (partial) fill; idempotent by fill_id",
        parameters=[ACCOUNT],
        request=s.FillSerializer,
        responses={200: s.OrderSerializer, **errors(*WRITE)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def fills(self, request, broker_order_id):
        order = self.get_object()
        data = self.parse(s.FillSerializer)
        order = self.manager(order.account).record_fill(
            order.broker_order_id, data["quantity"], data["price"], data.get("fill_id")
        )
        return self.order_response(order)

    @extend_schema(
        summary="Mark the whole order executed",
        description="Repeating the same execution is a no-op; a terminal order answers 409.",
        parameters=[ACCOUNT],
        request=s.ExecuteSerializer,
        responses={200: s.OrderSerializer, **errors(*WRITE)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def execute(self, request, broker_order_id):
        order = self.get_object()
        data = self.parse(s.ExecuteSerializer)
        order = self.manager(order.account).mark_order_executed(
            order.base_symbol, order.broker_order_id, data["price"], data.get("quantity")
        )
        return self.order_response(order)

    @extend_schema(
        summary="Stop tracking the order as CANCELLED or REJECTED",
        parameters=[ACCOUNT, IF_MATCH],
        request=s.CancelSerializer,
        responses={200: s.OrderSerializer, **errors(*WRITE, 412)},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request, broker_order_id):
        order = self.get_object()
        data = self.parse(s.CancelSerializer)
        order = self.manager(order.account).cancel_order(
            order.broker_order_id,
            data.get("reason"),
            data["status"],
            expected_version=expected_version(request),
        )
        return self.order_response(order)

    @extend_schema(
        summary="The order's audit trail, oldest first",
        parameters=[ACCOUNT],
        responses={200: s.OrderEventSerializer(many=True), **errors(*LIST, 409)},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, broker_order_id):
        order = self.get_object()
        events = OrderEvent.objects.filter(order=order).select_related("actor").order_by("at", "id")
        return self.paginated(events, s.OrderEventSerializer)


class ActiveSellOrdersView(ApiMixin, APIView):
    """What the old sell engine kept in memory, read from the database."""

    permission_classes = [CanReadOrders]

    @extend_schema(
        summary="Active SELL orders keyed by base symbol (the old bot's dict)",
        parameters=[ACCOUNT],
        responses={200: OpenApiTypes.OBJECT, **errors(401, 403, 405)},
    )
    def get(self, request):
        scoped = getattr(request.auth, "account", None)
        account = scoped or _printable_or_none(request.query_params.get("account"))
        return Response(self.manager(account or DEFAULT_ACCOUNT).get_active_sell_orders())


@extend_schema_view(
    list=extend_schema(
        summary="Positions", responses={200: s.TradeSerializer(many=True), **errors(*LIST)}
    ),
    retrieve=extend_schema(
        summary="One position", responses={200: s.TradeSerializer, **errors(*READ)}
    ),
    create=extend_schema(
        summary="Not allowed: positions open from BUY fills",
        request=None,
        responses=errors(401, 403, 405),
    ),
)
class TradeViewSet(ApiMixin, GenericViewSet):
    """Positions, opened and closed by the fills of their orders."""

    serializer_class = s.TradeSerializer
    permission_classes = [CanReadOrders]
    filter_backends = [DjangoFilterBackend]
    filterset_class = TradeFilter
    lookup_value_regex = "[0-9]{1,18}"
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        trades = Trade.objects.select_related("entry_order", "exit_order")
        return scoped_orders(self.request, trades)

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.TradeSerializer)

    def retrieve(self, request, pk):
        trade = self.get_queryset().filter(pk=pk).first()
        if trade is None:
            raise NotFound(f"No trade with id {pk}.")
        return Response(self.get_serializer(trade).data)

    def create(self, request):
        # A position opened by hand would have no order behind it and no audit trail.
        raise MethodNotAllowed(
            "POST",
            detail=(
                "Positions are not opened by hand: register a BUY order (POST /api/v1/orders/) "
                "and record its fills or execution; the position follows from them."
            ),
        )


@extend_schema_view(
    list=extend_schema(
        summary="The failed-buy retry queue",
        responses={200: s.FailedOrderSerializer(many=True), **errors(*LIST)},
    ),
    retrieve=extend_schema(
        summary="One failed buy", responses={200: s.FailedOrderSerializer, **errors(*READ)}
    ),
    create=extend_schema(
        summary="Queue a failed buy",
        description="201 for a new entry; 200 when the symbol was already waiting (a retry).",
        request=s.FailedOrderCreateSerializer,
        responses={
            201: OpenApiResponse(s.FailedOrderSerializer, description="Queued"),
            200: OpenApiResponse(s.FailedOrderSerializer, description="Retry counted"),
            **errors(400, 401, 403, 405, 415),
        },
    ),
    destroy=extend_schema(
        summary="Drop a waiting entry from the queue",
        responses={
            204: OpenApiResponse(description="Dropped (kept as EXPIRED for the record)"),
            **errors(*READ, 409),
        },
    ),
)
class FailedOrderViewSet(ApiMixin, GenericViewSet):
    """Buys that could not be placed, retried until the next market open."""

    serializer_class = s.FailedOrderSerializer
    permission_classes = [CanWriteOrders]
    filter_backends = [DjangoFilterBackend]
    filterset_class = FailedOrderFilter
    lookup_value_regex = "[0-9]{1,18}"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return scoped_orders(self.request, FailedOrder.objects.all())

    def get_object(self):
        entry = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if entry is None:
            raise NotFound(f"No failed order with id {self.kwargs['pk']}.")
        return entry

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.FailedOrderSerializer)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request):
        data = self.parse(s.FailedOrderCreateSerializer)
        manager = self.manager(self.write_account(data.pop("account", None)))
        entry = manager.add_failed_order(
            data["symbol"],
            ticker=data.get("ticker"),
            qty=data["quantity"],
            close=data.get("reference_price"),
            reason=data.get("reason", ""),
            **data.get("metadata", {}),
        )
        created = entry.retry_count == 0
        return Response(
            self.get_serializer(entry).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def destroy(self, request, pk):
        entry = self.get_object()
        if not retry_queue.drop(self.manager(entry.account), entry.pk):
            raise InvalidTransition(f"failed order {entry.pk} is {entry.status}, not WAITING")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SyncView(ApiMixin, APIView):
    """Reconcile with the broker now instead of waiting for the scheduled sync."""

    permission_classes = [IsAdminUser, CanWriteOrders]

    @extend_schema(
        summary="Run one broker sync now (staff only)",
        description="Answers with the stored run; `outcome` is ok, failed, or skipped when "
        "another sync holds the lock.",
        request=s.SyncRequestSerializer,
        responses={200: s.SyncRunSerializer, **errors(400, 401, 403, 405, 415)},
    )
    def post(self, request):
        from orderstate import sync

        data = self.parse(s.SyncRequestSerializer)
        run = sync.run_sync(dry_run=data["dry_run"], actor=request.user, source=EventSource.API)
        return Response(s.SyncRunSerializer(run).data)


@extend_schema_view(
    list=extend_schema(
        summary="Sync history, newest first",
        responses={200: s.SyncRunSerializer(many=True), **errors(*LIST)},
    )
)
class SyncRunViewSet(ApiMixin, GenericViewSet):
    """Past broker syncs with their outcome and statistics."""

    serializer_class = s.SyncRunSerializer
    permission_classes = [CanReadOrders]
    filter_backends = [DjangoFilterBackend]
    filterset_class = SyncRunFilter
    queryset = SyncRun.objects.all()

    def list(self, request):
        return self.paginated(self.filter_queryset(self.get_queryset()), s.SyncRunSerializer)
