"""Positions and the failed-buy queue over HTTP, scoped to the token's account."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, NotFound
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from orderstate.api import serializers as s
from orderstate.api.base import ApiMixin
from orderstate.api.filters import FailedOrderFilter, TradeFilter
from orderstate.api.permissions import CanReadOrders, CanWriteOrders, scoped_orders
from orderstate.api.schema import LIST, READ, errors
from orderstate.errors import InvalidTransition
from orderstate.models import FailedOrder, Trade


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
            metadata=data.get("metadata", {}),
        )
        created = entry.retry_count == 0
        return Response(
            self.get_serializer(entry).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def destroy(self, request, pk):
        entry = self.get_object()
        if not self.manager(entry.account).drop_failed_order(entry.pk):
            raise InvalidTransition(f"failed order {entry.pk} is {entry.status}, not WAITING")
        return Response(status=status.HTTP_204_NO_CONTENT)
