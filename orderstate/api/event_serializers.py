"""The event feed's query string and its answer (GET /api/v1/events/)."""

from rest_framework import serializers

from orderstate.api.fields import AsciiNumberMixin, CachedFieldsMixin, printable
from orderstate.event_feed.settled import EVENT_FIELDS
from orderstate.models import EventKind, OrderEvent

LATEST = "latest"
MAX_WAIT_SECONDS = 30
MAX_LIMIT = 500
MAX_EVENT_ID = 2**63 - 1  # a bigint


class AsciiIntegerField(AsciiNumberMixin, serializers.IntegerField):
    pass


class AsciiDecimalField(AsciiNumberMixin, serializers.DecimalField):
    pass


class EventFeedQuery(CachedFieldsMixin, serializers.Serializer):
    """`after`, `limit`, `kind`, `wait` and `account`; a bad one is a 400 naming it."""

    after = serializers.CharField(
        default="0",
        max_length=20,
        help_text="An event id from this feed (0: from the start), or `latest`: from now on",
    )
    limit = AsciiIntegerField(min_value=1, max_value=MAX_LIMIT, default=100)
    kind = serializers.CharField(
        required=False, max_length=400, help_text="Comma list of event kinds, e.g. fill,executed"
    )
    wait = AsciiDecimalField(
        max_digits=5,
        decimal_places=3,
        min_value=0,
        max_value=MAX_WAIT_SECONDS,
        default=0,
        help_text="Seconds to wait for an event when there is none yet (at most 30)",
    )
    account = serializers.CharField(max_length=64, required=False, validators=[printable])

    def validate_after(self, value):
        value = value.strip().lower()
        if value == LATEST:
            return value
        if not (value.isascii() and value.isdigit() and int(value) <= MAX_EVENT_ID):
            raise serializers.ValidationError("must be an event id (a whole number) or `latest`")
        return int(value)

    def validate_kind(self, value):
        kinds = [item.strip().lower() for item in value.split(",") if item.strip()]
        unknown = [item for item in kinds if item not in EventKind.values]
        if unknown:
            raise serializers.ValidationError(
                f"unknown kind {unknown[0][:40]!r}; use {', '.join(EventKind.values)}"
            )
        return frozenset(kinds)


class EventSerializer(CachedFieldsMixin, serializers.ModelSerializer):
    order = serializers.SlugRelatedField(
        slug_field="broker_order_id",
        read_only=True,
        allow_null=True,
        help_text="broker_order_id of the order, or null for an event of no order",
    )
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = OrderEvent
        fields = EVENT_FIELDS
        read_only_fields = fields


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_after = serializers.IntegerField(
        help_text="Pass as `after` to read on: no event before it is still to come"
    )
