"""The Django admin: every model listed, nothing of the order state edited by hand.

Status, quantities and prices are read-only; changes to them are the actions
in `corrections`, which call the manager. Metadata stays editable (an
order's through the manager, with an optional note for the log); the event
log, fills and sync runs are read-only everywhere.
"""

from django import forms
from django.contrib import admin

from orderstate.admin import corrections
from orderstate.models import (
    AccountGrant,
    ApiToken,
    FailedOrder,
    Fill,
    Order,
    OrderEvent,
    SyncRun,
    Trade,
)


def _all_fields_but(model, *editable):
    return [field.name for field in model._meta.concrete_fields if field.name not in editable]


class ReadOnlyMixin:
    """For rows only the system writes: view them, never add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChangedByActions:
    """Rows of the order state: never added or deleted here, and saved only by an action.

    The save calls an action, itself one durable transaction. Django's admin wraps
    a change form's POST in a transaction of its own, which would nest the
    action's; the form runs unwrapped, and the action alone decides what commits.
    """

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)


class OrderEventInline(ReadOnlyMixin, admin.TabularInline):
    model = OrderEvent
    fields = ("at", "kind", "from_status", "to_status", "source", "actor", "data")
    readonly_fields = fields
    ordering = ("at", "id")
    extra = 0
    verbose_name_plural = "Event log"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class FillInline(ReadOnlyMixin, admin.TabularInline):
    model = Fill
    fields = ("at", "quantity", "price", "fill_id", "source")
    readonly_fields = fields
    extra = 0


class OrderAdminForm(forms.ModelForm):
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Optional: why you changed the metadata, or a remark for the event log.",
    )

    class Meta:
        model = Order
        fields = ("metadata",)


@admin.register(Order)
class OrderAdmin(ChangedByActions, admin.ModelAdmin):
    form = OrderAdminForm
    list_display = (
        "broker_order_id",
        "base_symbol",
        "side",
        "quantity",
        "filled_quantity",
        "price",
        "average_price",
        "status",
        "source",
        "placed_at",
        "last_synced_at",
    )
    list_filter = ("status", "side", "source", "order_type", "placed_at", "closed_at")
    search_fields = ("=broker_order_id", "base_symbol", "symbol")
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = _all_fields_but(Order, "metadata")
    fields = (*readonly_fields, "metadata", "note")
    inlines = (FillInline, OrderEventInline)
    actions = (corrections.mark_executed, corrections.cancel_orders, corrections.reject_orders)

    def save_model(self, request, obj, form, change):
        """Metadata and the note go through the manager: audited, version bumped."""
        corrections.manager_for(request, obj.account).update_metadata(
            obj.broker_order_id, form.cleaned_data["metadata"], form.cleaned_data["note"]
        )


@admin.register(Trade)
class TradeAdmin(ChangedByActions, admin.ModelAdmin):
    list_display = (
        "symbol",
        "quantity",
        "closed_quantity",
        "entry_price",
        "exit_price",
        "realised_pnl",
        "status",
        "entry_time",
        "exit_time",
    )
    list_filter = ("status", "entry_time", "exit_time")
    search_fields = ("symbol", "=entry_order__broker_order_id", "=exit_order__broker_order_id")
    list_select_related = ("entry_order", "exit_order")
    show_full_result_count = False
    readonly_fields = _all_fields_but(Trade, "metadata", "exit_reason")
    actions = (corrections.reopen_trades,)

    def save_model(self, request, obj, form, change):
        """Metadata and the exit reason go through the actions: locked and audited."""
        corrections.manager_for(request, obj.account).update_trade_notes(
            obj.pk, form.cleaned_data["metadata"], form.cleaned_data["exit_reason"]
        )


@admin.register(FailedOrder)
class FailedOrderAdmin(ChangedByActions, admin.ModelAdmin):
    list_display = (
        "symbol",
        "quantity",
        "reference_price",
        "reason",
        "status",
        "first_failed_at",
        "retry_count",
    )
    list_filter = ("status", "first_failed_at")
    search_fields = ("symbol", "=retry_order_id")
    readonly_fields = _all_fields_but(FailedOrder, "metadata")
    actions = (corrections.requeue_failed, corrections.drop_failed)

    def save_model(self, request, obj, form, change):
        """Metadata goes through the actions: locked and audited."""
        corrections.manager_for(request, obj.account).update_failed_order_metadata(
            obj.pk, form.cleaned_data["metadata"]
        )


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "kind", "order", "from_status", "to_status", "source", "actor")
    list_filter = ("kind", "source", "at")
    search_fields = ("=order__broker_order_id", "order__base_symbol")
    list_select_related = ("order", "actor")
    show_full_result_count = False


@admin.register(Fill)
class FillAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("order", "quantity", "price", "fill_id", "source", "at")
    search_fields = ("=order__broker_order_id", "order__base_symbol", "=fill_id")
    list_filter = ("source", "at")
    list_select_related = ("order",)
    show_full_result_count = False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("started_at", "broker", "account", "outcome", "finished_at", "dry_run")
    list_filter = ("outcome", "broker", "account", "dry_run", "started_at")
    search_fields = ("error",)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Tokens are made with `manage.py create_api_token` (the key is shown only there, once).

    Here they are listed and revoked; the stored hash is never shown.
    """

    list_display = (
        "prefix",
        "user",
        "name",
        "account",
        "read_only",
        "state",
        "created_at",
        "expires_at",
        "last_used_at",
    )
    list_filter = ("read_only", "account", "revoked_at", "expires_at")
    search_fields = ("=prefix", "user__username", "name")
    list_select_related = ("user",)
    exclude = ("key_hash",)
    actions = ["revoke_tokens"]

    @admin.display(description="state")
    def state(self, token):
        return token.state

    def has_revoke_permission(self, request):
        return request.user.has_perm("orderstate.change_apitoken")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        revoked = sum(token.revoke() for token in queryset)
        self.message_user(request, f"Revoked {revoked} token(s).")


@admin.register(AccountGrant)
class AccountGrantAdmin(admin.ModelAdmin):
    """Which accounts a user may see (none listed: every account). Each grant added,
    changed or withdrawn here is in the admin's history with the staff user who did it."""

    list_display = ("user", "account", "granted_at")
    list_filter = ("account",)
    search_fields = ("user__username", "account")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    readonly_fields = ("granted_at",)
