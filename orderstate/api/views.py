"""Orders over HTTP. Views parse input, call `OrderStateManager`, render the result.

Orders are addressed by `broker_order_id`; every queryset goes through
`scoped_orders` so a token or user limited to some accounts cannot see another's
rows (404).
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from orderstate.api import serializers as s
from orderstate.api.base import AmbiguousOrder, ApiMixin, expected_version, printable_or_none
from orderstate.api.filters import OrderFilter
from orderstate.api.permissions import (
    CanReadOrders,
    CanWriteOrders,
    request_accounts,
    scoped_orders,
)
from orderstate.api.prepared import PreparedQuery
from orderstate.api.schema import ACCOUNT, IF_MATCH, LIST, READ, WRITE, errors
from orderstate.auth.rules import may_see
from orderstate.errors import ValidationError
from orderstate.models import DEFAULT_ACCOUNT, Order, OrderEvent
from orderstate.validation import parse_order_id

# Up to two rows, so an id used in several accounts answers 409 rather than a guess.
ORDER_IN_ANY_ACCOUNT = PreparedQuery(
    lambda order_id: Order.objects.filter(broker_order_id=order_id)[:2]
)
ORDER_IN_ACCOUNT = PreparedQuery(
    lambda order_id, account: Order.objects.filter(account=account, broker_order_id=order_id)[:2]
)


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
        """The order the URL names, in the token's account or the one `?account=` asks for.

        What `get_queryset().filter(broker_order_id=...)[:2]` (narrowed by
        `?account=`) returns, through a query compiled once: every action on an
        order starts here, and compiling it cost more than running it.
        """
        try:
            order_id = parse_order_id(self.kwargs["broker_order_id"])
        except ValidationError:
            raise NotFound("No order with this id.") from None
        visible = request_accounts(self.request)
        asked = None
        if "account" in self.request.query_params:
            asked = printable_or_none(self.request.query_params["account"]) or ""
        if asked is not None:
            # An unreadable account, or one the request may not see: no such order.
            found = ORDER_IN_ACCOUNT(order_id, asked) if asked and may_see(visible, asked) else []
        elif visible is None:
            found = ORDER_IN_ANY_ACCOUNT(order_id)
        elif len(visible) == 1:
            found = ORDER_IN_ACCOUNT(order_id, next(iter(visible)))
        else:
            found = Order.objects.filter(broker_order_id=order_id, account__in=visible)[:2]
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
        order, created = manager.register_or_get(
            data.pop("side"),
            data.pop("symbol"),
            data.pop("broker_order_id"),
            data.pop("price", None),
            data.pop("quantity"),
            data.pop("ticker", None),
            replace=data.pop("replace"),
            metadata=data.pop("metadata", {}),
            **data,
        )
        if not created:
            return self.order_response(order)
        response = self.order_response(order, status.HTTP_201_CREATED)
        response["Location"] = s.order_url(order, request)
        return response

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
            order.broker_order_id,
            data["quantity"],
            data["price"],
            data.get("fill_id"),
            at=data.get("at"),
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
        # The account asked for when the request may see it, else the only one it may see
        # (a scoped token's own), else the default.
        visible = request_accounts(request)
        account = printable_or_none(request.query_params.get("account")) or DEFAULT_ACCOUNT
        if not may_see(visible, account) and len(visible) == 1:
            account = next(iter(visible))
        if not may_see(visible, account):
            return Response({})
        return Response(self.manager(account).get_active_sell_orders())
