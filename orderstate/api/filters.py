"""Query-string filters of the API lists; a bad value is a 400 naming the parameter."""

import django_filters
from django import forms
from rest_framework.exceptions import ValidationError as ApiValidationError

from orderstate.api.fields import EARLIEST, LATEST
from orderstate.errors import ValidationError
from orderstate.models import (
    FailedOrder,
    FailedOrderStatus,
    Order,
    Side,
    SyncOutcome,
    SyncRun,
    Trade,
)
from orderstate.models import TradeStatus as TradeStatusChoices
from orderstate.states import ACTIVE, Status
from orderstate.validation import base_symbol


class StrictBooleanField(forms.NullBooleanField):
    """true/false (1/0, yes/no) or absent; anything else is an error, not "no filter"."""

    widget = forms.TextInput
    VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if str(value).strip().lower() not in self.VALUES:
            raise forms.ValidationError("must be true or false")
        return self.VALUES[str(value).strip().lower()]


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


def _bad(name, message):
    raise ApiValidationError({name: [message]})


def _choices(name, value, choices):
    """A comma list of choice values in any case, e.g. `open,partially_filled`."""
    wanted = [item.strip().upper() for item in value.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in choices.values]
    if unknown:
        _bad(name, f"unknown value {unknown[0][:40]!r}; use {', '.join(choices.values)}")
    return wanted


def _base(name, value):
    try:
        return base_symbol(value, name)
    except ValidationError as exc:
        _bad(name, exc.fields[name][0])


class OrderFilter(django_filters.FilterSet):
    status = django_filters.CharFilter(
        method="filter_status", max_length=200, label="Comma list of statuses, any case"
    )
    side = django_filters.CharFilter(method="filter_side", max_length=8, label="BUY or SELL")
    symbol = django_filters.CharFilter(
        method="filter_symbol", max_length=40, label="Base or trading symbol, any case"
    )
    active = StrictBooleanFilter(method="filter_active", label="true: active only")
    account = django_filters.CharFilter(max_length=64)
    updated_since = django_filters.IsoDateTimeFilter(
        method="filter_updated_since", label="ISO 8601 time; orders changed at or after it"
    )

    class Meta:
        model = Order
        fields = ["status", "side", "symbol", "active", "account", "updated_since"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=_choices(name, value, Status))

    def filter_side(self, queryset, name, value):
        return queryset.filter(side__in=_choices(name, value, Side))

    def filter_symbol(self, queryset, name, value):
        return queryset.filter(base_symbol=_base(name, value))

    def filter_active(self, queryset, name, value):
        return queryset.filter(status__in=ACTIVE) if value else queryset.exclude(status__in=ACTIVE)

    def filter_updated_since(self, queryset, name, value):
        if not EARLIEST <= value < LATEST:
            _bad(name, "must be between 2000 and 2100")
        return queryset.filter(updated_at__gte=value)


class _StatusSymbolFilter(django_filters.FilterSet):
    """Status (a comma list of `status_choices`), base symbol in any form, and account."""

    status_choices = None
    status = django_filters.CharFilter(method="filter_status", max_length=100)
    symbol = django_filters.CharFilter(method="filter_symbol", max_length=40)
    account = django_filters.CharFilter(max_length=64)

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=_choices(name, value, self.status_choices))

    def filter_symbol(self, queryset, name, value):
        return queryset.filter(symbol=_base(name, value))


class TradeFilter(_StatusSymbolFilter):
    status_choices = TradeStatusChoices

    class Meta:
        model = Trade
        fields = ["status", "symbol", "account"]


class FailedOrderFilter(_StatusSymbolFilter):
    status_choices = FailedOrderStatus

    class Meta:
        model = FailedOrder
        fields = ["status", "symbol", "account"]


class SyncRunFilter(django_filters.FilterSet):
    outcome = django_filters.ChoiceFilter(
        choices=SyncOutcome.choices, label="ok, failed, skipped or running"
    )

    class Meta:
        model = SyncRun
        fields = ["outcome"]
