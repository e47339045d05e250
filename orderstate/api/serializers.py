"""Parse API input into plain values and render rows as JSON; no state changes here.

Input serializers check types and ranges so a bad request names its field; the
manager re-checks the order state's own rules (symbols, transitions, conflicts).
"""

import functools
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from rest_framework import serializers
from rest_framework.reverse import reverse

from orderstate.actions import failed_orders
from orderstate.api.fields import (
    EARLIEST,
    LATEST,
    CachedFieldsMixin,
    MetadataField,
    UpperChoiceField,
    price_field,
    printable,
    quantity_field,
    storable,
)
from orderstate.errors import ValidationError
from orderstate.models import (
    FailedOrder,
    Order,
    OrderEvent,
    OrderType,
    Product,
    Side,
    SyncRun,
    Trade,
    Variety,
)
from orderstate.states import Status
from orderstate.validation import (
    FAILED_ORDER_ARGUMENTS,
    ORDER_OPTIONS,
    REGISTRATION_ARGUMENTS,
    parse_order_id,
)


class InputSerializer(CachedFieldsMixin, serializers.Serializer):
    """Refuses fields it does not know, so a typo is a 400 rather than silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {
                        key[:64]: ["unknown field; extra bot fields go in metadata"]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)


class OrderRegisterSerializer(InputSerializer):
    broker_order_id = serializers.CharField(max_length=64, validators=[printable])
    symbol = serializers.CharField(
        max_length=40, validators=[storable], help_text="RELIANCE, RELIANCE-EQ or reliance"
    )
    side = UpperChoiceField(choices=Side.choices)
    quantity = quantity_field()
    price = price_field(required=False, allow_null=True, help_text="Needed for LIMIT and SL orders")
    trigger_price = price_field(required=False, allow_null=True)
    order_type = UpperChoiceField(
        choices=OrderType.choices,
        required=False,
        help_text="Default LIMIT; a BUY without a price defaults to MARKET",
    )
    variety = UpperChoiceField(choices=Variety.choices, required=False)
    product = UpperChoiceField(choices=Product.choices, required=False)
    exchange = serializers.CharField(max_length=8, required=False, validators=[printable])
    ticker = serializers.CharField(
        max_length=40, required=False, allow_blank=True, validators=[printable]
    )
    account = serializers.CharField(max_length=64, required=False, validators=[printable])
    status = UpperChoiceField(
        choices=[(s, s.label) for s in (Status.PENDING, Status.OPEN)], required=False
    )
    placed_at = serializers.DateTimeField(required=False)
    metadata = MetadataField(reserved=REGISTRATION_ARGUMENTS | ORDER_OPTIONS)
    replace = serializers.BooleanField(
        default=False, help_text="Cancel the symbol's active SELL order and register this one"
    )

    def validate_broker_order_id(self, value):
        try:
            return parse_order_id(value, "broker_order_id")
        except ValidationError as exc:
            raise serializers.ValidationError(exc.fields["broker_order_id"]) from None

    def validate_placed_at(self, value):
        if not EARLIEST <= value < LATEST:
            raise serializers.ValidationError("must be between 2000 and 2100")
        return value


class PriceUpdateSerializer(InputSerializer):
    price = price_field()


class FillSerializer(InputSerializer):
    quantity = quantity_field()
    price = price_field(places=4)
    fill_id = serializers.CharField(
        max_length=64,
        validators=[storable],
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The exchange's trade id; a fill with a known id is not applied twice",
    )
    at = serializers.DateTimeField(
        required=False,
        help_text="When it executed at the exchange (default: now); positions follow "
        "execution order whatever order fills are recorded in",
    )

    def validate_at(self, value):
        if not EARLIEST <= value < LATEST:
            raise serializers.ValidationError("must be between 2000 and 2100")
        return value


class ExecuteSerializer(InputSerializer):
    price = price_field(places=4, help_text="Average execution price")
    quantity = quantity_field(required=False, help_text="Must equal the order quantity if given")


class CancelSerializer(InputSerializer):
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, allow_null=True, validators=[storable]
    )
    status = UpperChoiceField(
        choices=[(s, s.label) for s in (Status.CANCELLED, Status.REJECTED)],
        default=Status.CANCELLED,
    )


class FailedOrderCreateSerializer(InputSerializer):
    symbol = serializers.CharField(max_length=40, validators=[storable])
    ticker = serializers.CharField(
        max_length=40, required=False, allow_blank=True, validators=[printable]
    )
    quantity = quantity_field()
    reference_price = price_field(required=False, allow_null=True, help_text="Close price seen")
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, validators=[storable]
    )
    account = serializers.CharField(max_length=64, required=False, validators=[printable])
    metadata = MetadataField(reserved=FAILED_ORDER_ARGUMENTS)


class SyncRequestSerializer(InputSerializer):
    dry_run = serializers.BooleanField(default=False)


# Output --------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable name, e.g. duplicate_order")
    detail = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Each bad field with its messages",
    )


class OrderSerializer(CachedFieldsMixin, serializers.ModelSerializer):
    trade = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    remaining_quantity = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    events_url = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "broker_order_id",
            "account",
            "symbol",
            "base_symbol",
            "ticker",
            "exchange",
            "side",
            "order_type",
            "variety",
            "product",
            "quantity",
            "price",
            "trigger_price",
            "filled_quantity",
            "remaining_quantity",
            "average_price",
            "status",
            "is_active",
            "status_reason",
            "broker_status",
            "trade",
            "metadata",
            "version",
            "placed_at",
            "updated_at",
            "closed_at",
            "last_synced_at",
            "missing_count",
            "source",
            "events_url",
        ]
        read_only_fields = fields

    def get_events_url(self, order) -> str:
        return order_url(order, self.context.get("request"), "events/")


def order_url(order, request=None, action=""):
    """The order's API address. Built by hand: reverse() refuses ids it could not
    route back, and one odd id from a broker must not break a whole list."""
    orders = _orders_path(get_urlconf(), settings.ROOT_URLCONF, get_script_prefix())
    url = f"{orders}/{quote(order.broker_order_id, safe='')}/{action}"
    return request.build_absolute_uri(url) if request else url


@functools.lru_cache(maxsize=32)
def _orders_path(urlconf, root_urlconf, script_prefix):
    """The orders list's path, reversed once per URL configuration and script prefix
    (every order answered named it twice, at about 150 µs a reverse())."""
    return reverse("api:order-list", urlconf=urlconf).rstrip("/")


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = OrderEvent
        fields = ["id", "at", "kind", "from_status", "to_status", "source", "actor", "data"]
        read_only_fields = fields


class TradeSerializer(serializers.ModelSerializer):
    entry_order = serializers.SlugRelatedField(
        slug_field="broker_order_id", read_only=True, allow_null=True
    )
    exit_order = serializers.SlugRelatedField(
        slug_field="broker_order_id", read_only=True, allow_null=True
    )
    entry_symbol = serializers.SlugRelatedField(
        source="entry_order",
        slug_field="symbol",
        read_only=True,
        allow_null=True,
        help_text="Trading symbol the entry order was placed with (the old `placed_symbol`)",
    )
    open_quantity = serializers.IntegerField(read_only=True)

    class Meta:
        model = Trade
        fields = [
            "id",
            "account",
            "symbol",
            "ticker",
            "quantity",
            "open_quantity",
            "closed_quantity",
            "entry_price",
            "entry_time",
            "entry_order",
            "entry_symbol",
            "exit_price",
            "exit_time",
            "exit_order",
            "exit_reason",
            "status",
            "realised_pnl",
            "metadata",
            "updated_at",
        ]
        read_only_fields = fields


class FailedOrderSerializer(serializers.ModelSerializer):
    expires_at = serializers.SerializerMethodField()

    class Meta:
        model = FailedOrder
        fields = [
            "id",
            "account",
            "symbol",
            "trading_symbol",
            "ticker",
            "quantity",
            "reference_price",
            "reason",
            "first_failed_at",
            "last_retry_at",
            "retry_count",
            "status",
            "retry_order_id",
            "metadata",
            "updated_at",
            "expires_at",
        ]
        read_only_fields = fields

    def get_expires_at(self, entry) -> datetime:
        return serializers.DateTimeField().to_representation(failed_orders.expires_at(entry))


class SyncRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRun
        fields = [
            "id",
            "broker",
            "requested_at",
            "started_at",
            "finished_at",
            "outcome",
            "dry_run",
            "stats",
            "error",
        ]
        read_only_fields = fields
