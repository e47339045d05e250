"""The ledger's positions in the admin, with the two answers a staff user can give to a
mismatch the positions check recorded: accept the broker's quantity (an adjusting lot),
or confirm the broker's extra as held outside orderstate. Both go through the manager,
with the staff user in the event; nothing else here changes a position.
"""

from django import forms
from django.contrib import admin

from orderstate.admin.corrections import apply_to_each, ask_for, manager_for
from orderstate.checks.positions import describe, mismatch_of
from orderstate.models import OutsideHolding, Position


class AdjustmentPriceForm(forms.Form):
    price = forms.DecimalField(
        label="Price of the adjusting lot (₹)",
        required=False,
        min_value=0.0001,
        max_digits=16,
        decimal_places=4,
        help_text="What the shares cost (or fetched). Empty: the broker's average price from "
        "its holdings, else the open trade's entry price.",
    )


def position_label(position):
    return f"{position.symbol} ({position.account})"


@admin.action(description="Accept the broker's quantity…", permissions=["change"])
def accept_broker_quantity(modeladmin, request, queryset):
    form = AdjustmentPriceForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        mismatches = [mismatch_of(row.account, row.symbol) for row in queryset]
        found = "; ".join(describe(row) for row in mismatches if row is not None)
        return ask_for(
            modeladmin,
            request,
            queryset,
            form,
            "accept_broker_quantity",
            "Accept the broker's quantity",
            "Each position below is set to what the broker holds (less any quantity confirmed "
            "as held outside orderstate) by one adjusting lot in the ledger; a sell adjustment "
            f"realises P&L against the oldest lots. Logged with your name. {found or ''}",
            "Accept",
        )

    def accept(position):
        price = form.cleaned_data["price"] or _default_price(position)
        manager_for(request, position.account).accept_broker_quantity(position.symbol, price)

    apply_to_each(
        modeladmin, request, queryset, accept, "Set to the broker's quantity", position_label
    )
    return None


@admin.action(
    description="Confirm the broker's extra as held outside orderstate", permissions=["change"]
)
def confirm_outside(modeladmin, request, queryset):
    apply_to_each(
        modeladmin,
        request,
        queryset,
        lambda row: manager_for(request, row.account).confirm_outside_holding(row.symbol),
        "Confirmed as held outside orderstate",
        position_label,
    )


def _default_price(position):
    mismatch = mismatch_of(position.account, position.symbol)
    if mismatch is not None and mismatch.broker_average:
        return mismatch.broker_average
    if position.open_trade is not None:
        return position.open_trade.entry_price
    return None


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    """Read-only rows; the actions are the only changes, each through the manager."""

    list_display = ("symbol", "account", "net_quantity", "last_at", "open_trade")
    search_fields = ("symbol",)
    list_filter = ("account",)
    list_select_related = ("open_trade",)
    actions = (accept_broker_quantity, confirm_outside)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The list's actions need it; one position's page stays read-only.
        return obj is None and super().has_change_permission(request)


@admin.register(OutsideHolding)
class OutsideHoldingAdmin(admin.ModelAdmin):
    list_display = ("symbol", "account", "quantity", "confirmed_by", "confirmed_at")
    search_fields = ("symbol",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
