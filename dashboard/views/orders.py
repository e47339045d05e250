"""Orders: the filtered list and one order with its timeline."""

from django.http import Http404

from dashboard import order_filters
from dashboard.paging import paginate
from dashboard.permissions import accounts_of, login_required_page
from dashboard.rendering import render_page
from orderstate.auth.rules import within
from orderstate.models import Order

LIST_COLUMNS = (
    "id",
    "account",
    "broker_order_id",
    "symbol",
    "base_symbol",
    "side",
    "quantity",
    "filled_quantity",
    "price",
    "average_price",
    "status",
    "placed_at",
    "updated_at",
    "last_synced_at",
    "missing_count",
)


@login_required_page
def order_list(request):
    params = request.GET
    tab = order_filters.chosen_tab(params)
    sort = order_filters.chosen_sort(params)
    form = order_filters.OrderFilterForm(params)
    visible = within(Order.objects.only(*LIST_COLUMNS), accounts_of(request))
    orders = order_filters.filter_orders(visible, tab, form)
    page = paginate(orders.order_by(*order_filters.ordering(sort)), request)
    context = {
        "page": page,
        "form": form,
        "tab": tab,
        "tabs": [(key, label) for key, (label, _statuses) in order_filters.TABS.items()],
        "sort": sort,
        "sort_links": order_filters.sort_links(params, sort),
    }
    return render_page(request, "dashboard/orders.html", "dashboard/_orders_live.html", context)


def find_order(request, broker_order_id, account=None):
    """The order with this broker id among those the user may see; `account` picks one
    when two accounts share an id."""
    orders = within(Order.objects.all(), accounts_of(request))
    orders = orders.select_related("trade").filter(broker_order_id=broker_order_id)
    if account:
        orders = orders.filter(account=account)
    order = orders.order_by("account").first()
    if order is None:
        raise Http404(f"No order with id {broker_order_id}.")
    return order


@login_required_page
def order_detail(request, broker_order_id):
    order = find_order(request, broker_order_id, request.GET.get("account"))
    events = order.events.select_related("actor").order_by("at", "id")
    context = {
        "order": order,
        "events": list(events),
        "fills": list(order.fills.all()),
        "trade": order.trade,
    }
    return render_page(
        request, "dashboard/order_detail.html", "dashboard/_order_live.html", context
    )
