"""Fields the API's serializers share: strict numbers, upper-case choices, bounded JSON
metadata, and input serializers that build their fields once per class, not per request."""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rest_framework import serializers

from orderstate.errors import ValidationError
from orderstate.validation import (
    MAX_PRICE,
    MAX_QUANTITY,
    UNSTORABLE,
    check_json_text,
    is_storable,
)

MAX_METADATA_BYTES = 16_384
# Times before or after these cannot be a real order and overflow some conversions.
EARLIEST = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))
LATEST = datetime(2100, 1, 1, tzinfo=ZoneInfo("UTC"))


class UpperChoiceField(serializers.ChoiceField):
    """A choice that also accepts lower or mixed case, as the bot sends `sell` or `Sell`."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = data.strip().upper()
        return super().to_internal_value(data)


class AsciiNumberMixin:
    """Refuses digits of other scripts (Arabic-Indic, Devanagari) that Python reads as numbers."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class PriceField(AsciiNumberMixin, serializers.DecimalField):
    pass


class QuantityField(AsciiNumberMixin, serializers.IntegerField):
    pass


def price_field(places=2, **kwargs):
    return PriceField(
        max_digits=12 + places,
        decimal_places=places,
        min_value=Decimal(1).scaleb(-places),
        max_value=MAX_PRICE,
        **kwargs,
    )


def quantity_field(**kwargs):
    return QuantityField(min_value=1, max_value=MAX_QUANTITY, **kwargs)


def printable(value):
    if not value.isprintable():
        raise serializers.ValidationError("must contain printable characters only")


def storable(value):
    """Free text (a reason, a symbol) must be text a database can store and serve back."""
    if not is_storable(value):
        raise serializers.ValidationError(UNSTORABLE)


MAX_METADATA_DEPTH = 16


def check_json(value, path="metadata"):
    """Refuse unstorable text (validation.is_storable) and nesting past a sane depth."""
    if _depth(value) > MAX_METADATA_DEPTH:
        raise serializers.ValidationError(f"{path}: nested deeper than {MAX_METADATA_DEPTH}")
    try:
        check_json_text(value, path)
    except ValidationError as exc:
        raise serializers.ValidationError(exc.detail) from None


def _depth(value):
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


class CachedFieldsMixin:
    """Build a serializer's fields once per class, not once per instance.

    DRF deep-copies the declared fields for every serializer it makes, and a deep
    copy re-runs every field's __init__: for an input serializer that was most of
    the cost of validating a request; for a ModelSerializer, introspecting the
    model adds more. The fields keep no state of their own while they validate or
    render (binding to a serializer sets attributes, and DRF caches validators on
    the field it asks), so each instance gets shallow copies of one template and
    binding them leaves the template untouched.
    """

    def get_fields(self):
        cls = type(self)
        if "_fields_template" not in cls.__dict__:
            cls._fields_template = super().get_fields()
        return {name: _shallow_copy(field) for name, field in cls._fields_template.items()}


def _shallow_copy(field):
    """What copy.copy(field) gives, four times faster: copy.copy goes through
    __reduce_ex__ and DRF's Field.__new__, whose _args and _kwargs it then overwrites."""
    clone = object.__new__(type(field))
    clone.__dict__ = field.__dict__.copy()
    return clone


class MetadataField(serializers.DictField):
    """The bot's extra fields (rsi10, ema9, ...): a JSON object, stored as given."""

    def __init__(self, reserved=(), **kwargs):
        """`reserved`: argument names of the old call, which a metadata key may not take."""
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.reserved = frozenset(reserved)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        # A key named like a field of the request, or like an argument of the old call,
        # is a field sent in the wrong place.
        fields = set(self.parent.fields) - {self.field_name} if self.parent else set()
        clash = sorted((fields | self.reserved) & set(value))
        if clash:
            raise serializers.ValidationError(
                f"keys {', '.join(clash)} are order fields; send them as fields, not metadata"
            )
        check_json(value)
        if len(json.dumps(value, default=str)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(f"must be at most {MAX_METADATA_BYTES} bytes")
        return value
