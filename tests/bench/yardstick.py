"""The smallest honest DRF endpoints that do the API's write jobs: the yardstick of
tests/bench/bench_api_write.py. Bench-only: reachable through `urlpatterns` below,
which the benchmark sets as ROOT_URLCONF; the app's own URLs never include them.

Each does what POST /api/v1/orders/ and POST /api/v1/orders/{id}/fills/ must do
and nothing more, written the plain DRF way:

- the same hashed `ApiToken` (one indexed lookup by prefix joined to its user,
  the secret compared in constant time, revocation, expiry, an active user);
- a plain `Serializer` with the same input fields and ranges;
- one transaction: the order and its event (registration), or the order locked,
  a `Fill` inserted, the order updated and its event (fill);
- the order as JSON from a plain `ModelSerializer` (201 on registration).

No permissions beyond "authenticated", no throttling, no idempotent retries, no
positions, no account scoping: what the API adds on top is what the ratio prices.
"""

import hashlib
import hmac
from decimal import Decimal

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import include, path
from django.utils import timezone
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from orderstate import urls as project_urls
from orderstate.models import EventKind, EventSource, Fill, Order, OrderEvent, Side
from orderstate.models.auth import ApiToken
from orderstate.states import Status


class HashedTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <prefix>.<secret>` against ApiToken rows, minimal."""

    def authenticate(self, request):
        keyword, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if keyword != "Token":
            return None
        try:
            token = ApiToken.objects.select_related("user").get(prefix=key.partition(".")[0])
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        digest = hashlib.sha256(key.encode()).hexdigest()
        if not hmac.compare_digest(token.key_hash, digest):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None or (
            token.expires_at is not None and token.expires_at <= timezone.now()
        ):
            raise exceptions.AuthenticationFailed("Token revoked or expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        return token.user, token

    def authenticate_header(self, request):
        return "Token"


class RegisterSerializer(serializers.Serializer):
    broker_order_id = serializers.CharField(max_length=64)
    symbol = serializers.CharField(max_length=40)
    side = serializers.ChoiceField(choices=Side.choices)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
    price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    ticker = serializers.CharField(max_length=40, required=False, allow_blank=True)
    metadata = serializers.DictField(required=False)


class FillSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
    price = serializers.DecimalField(max_digits=16, decimal_places=4, min_value=Decimal("0.0001"))
    fill_id = serializers.CharField(max_length=64, required=False, allow_null=True)


class OrderOutSerializer(serializers.Serializer):
    """The order's columns, declared (a ModelSerializer would rebuild them from the
    model on every response, which would make a slower, flattering yardstick)."""

    broker_order_id = serializers.CharField()
    account = serializers.CharField()
    symbol = serializers.CharField()
    base_symbol = serializers.CharField()
    ticker = serializers.CharField()
    exchange = serializers.CharField()
    side = serializers.CharField()
    order_type = serializers.CharField()
    variety = serializers.CharField()
    product = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=14, decimal_places=2)
    trigger_price = serializers.DecimalField(max_digits=14, decimal_places=2)
    filled_quantity = serializers.IntegerField()
    average_price = serializers.DecimalField(max_digits=16, decimal_places=4)
    status = serializers.CharField()
    status_reason = serializers.CharField()
    broker_status = serializers.CharField()
    trade = serializers.IntegerField(source="trade_id")
    metadata = serializers.JSONField()
    version = serializers.IntegerField()
    placed_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField()
    last_synced_at = serializers.DateTimeField()
    missing_count = serializers.IntegerField()
    source = serializers.CharField()


class JsonView(APIView):
    authentication_classes = [HashedTokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]


class RegisterView(JsonView):
    def post(self, request):
        body = RegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = register_order(body.validated_data, request.user)
        return Response(OrderOutSerializer(order).data, status=status.HTTP_201_CREATED)


class FillView(JsonView):
    def post(self, request, broker_order_id):
        body = FillSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = fill_order(broker_order_id, body.validated_data, request.user)
        return Response(OrderOutSerializer(order).data)


# The transactions, apart so the benchmark can time them beside the manager's.


def register_order(data, actor):
    symbol = data["symbol"].strip().upper()
    with transaction.atomic():
        order = Order.objects.create(
            broker_order_id=data["broker_order_id"],
            symbol=symbol,
            base_symbol=symbol.removesuffix("-EQ"),
            side=data["side"],
            quantity=data["quantity"],
            price=data.get("price"),
            ticker=data.get("ticker", ""),
            metadata=data.get("metadata", {}),
            source="bot",
        )
        OrderEvent.objects.create(
            order=order,
            kind=EventKind.REGISTERED,
            to_status=order.status,
            source=EventSource.API,
            actor=actor,
        )
    return order


def fill_order(broker_order_id, data, actor):
    quantity, price = data["quantity"], data["price"]
    with transaction.atomic():
        order = get_object_or_404(
            Order.objects.select_for_update(), broker_order_id=broker_order_id
        )
        filled = order.filled_quantity + quantity
        if filled > order.quantity:
            raise exceptions.ValidationError({"quantity": ["more than the order's quantity"]})
        Fill.objects.create(
            order=order, fill_id=data.get("fill_id"), quantity=quantity, price=price
        )
        before = order.status
        spent = (order.average_price or 0) * order.filled_quantity + price * quantity
        order.average_price = (spent / filled).quantize(Decimal("0.0001"))
        order.filled_quantity = filled
        order.status = Status.EXECUTED if filled == order.quantity else Status.PARTIALLY_FILLED
        order.version += 1
        order.updated_at = timezone.now()
        order.save(
            update_fields=["average_price", "filled_quantity", "status", "version", "updated_at"]
        )
        OrderEvent.objects.create(
            order=order,
            kind=EventKind.FILL,
            from_status=before,
            to_status=order.status,
            source=EventSource.API,
            actor=actor,
            data={"qty": quantity, "price": str(price)},
        )
    return order


# The project's own error handlers, so its API answers exactly as under its own urlconf.
handler400, handler500 = project_urls.handler400, project_urls.handler500

urlpatterns = [
    path("yardstick/orders/", RegisterView.as_view()),
    path("yardstick/orders/<str:broker_order_id>/fills/", FillView.as_view()),
    path("", include(project_urls)),
]
