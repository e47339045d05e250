"""The orders page's tabs, filters, search and sort, parsed from the query string.

A bad value (an unknown status, a date that is not a date) is reported on the
form and ignored; it never becomes a 500 or an unbounded query.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.db.models import Q

from orderstate.market import IST
from orderstate.models import Side
from orderstate.states import ACTIVE, Status

TABS = {
    "active": ("Active", sorted(ACTIVE)),
    "pending": ("Pending", [Status.PENDING, Status.OPEN]),
    "executed": ("Executed", [Status.EXECUTED]),
    "closed": ("Cancelled / rejected", [Status.CANCELLED, Status.REJECTED]),
    "all": ("All", None),
}
DEFAULT_TAB = "active"

# Each sort key orders by its column, then the id to break ties. Placed, symbol,
# status and last change are indexed, and quantity within one status (a status
# tab); a price sort, or a quantity sort over several statuses, sorts the matches.
SORTS = {
    "placed": ("Placed", "placed_at"),
    "symbol": ("Symbol", "base_symbol"),
    "qty": ("Qty", "quantity"),
    "price": ("Price", "price"),
    "status": ("Status", "status"),
    "updated": ("Last change", "updated_at"),
}
DEFAULT_SORT = "-placed"


class OrderFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=64, label="Symbol or order id", strip=True)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *Status.choices], label="Status"
    )
    side = forms.ChoiceField(
        required=False, choices=[("", "Both sides"), *Side.choices], label="Side"
    )
    placed_from = forms.DateField(required=False, label="Placed from (IST)")
    placed_to = forms.DateField(required=False, label="Placed to (IST)")


def chosen_tab(params):
    tab = params.get("tab", DEFAULT_TAB)
    return tab if tab in TABS else DEFAULT_TAB


def chosen_sort(params):
    sort = params.get("sort", DEFAULT_SORT)
    return sort if sort.lstrip("-") in SORTS else DEFAULT_SORT


def ordering(sort):
    descending = sort.startswith("-")
    column = SORTS[sort.lstrip("-")][1]
    prefix = "-" if descending else ""
    return [f"{prefix}{column}", f"{prefix}id"]


def _ist_midnight(day):
    return datetime.combine(day, time.min, tzinfo=IST)


def filter_orders(queryset, tab, form):
    """Apply the tab and the valid fields of a bound, validated form."""
    statuses = TABS[tab][1]
    if statuses is not None:
        queryset = queryset.filter(status__in=statuses)
    data = form.cleaned_data if form.is_valid() else _valid_fields(form)
    if data.get("q"):
        text = data["q"]
        queryset = queryset.filter(
            Q(broker_order_id=text) | Q(base_symbol=text.upper()) | Q(symbol__istartswith=text)
        )
    if data.get("status"):
        queryset = queryset.filter(status=data["status"])
    if data.get("side"):
        queryset = queryset.filter(side=data["side"])
    if data.get("placed_from"):
        queryset = queryset.filter(placed_at__gte=_ist_midnight(data["placed_from"]))
    if data.get("placed_to"):
        queryset = queryset.filter(
            placed_at__lt=_ist_midnight(data["placed_to"] + timedelta(days=1))
        )
    return queryset


def _valid_fields(form):
    """The fields that did validate, when another one did not."""
    return {
        name: value
        for name, value in getattr(form, "cleaned_data", {}).items()
        if name not in form.errors
    }


def sort_links(params, current):
    """Header links: each column toggles between ascending and descending."""
    links = {}
    for key, (label, _column) in SORTS.items():
        if current == key:
            target, state = f"-{key}", "ascending"
        elif current == f"-{key}":
            target, state = key, "descending"
        else:
            target, state = (f"-{key}" if key == "placed" else key), "none"
        links[key] = {"label": label, "sort": target, "aria": state}
    return links
