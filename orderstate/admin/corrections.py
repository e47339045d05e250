"""Admin actions that correct order state, each through the manager.

The admin never writes status, quantities or prices itself: an action asks
for what it needs on an intermediate page (a price, a reason), then calls the
manager with source "admin" and the staff user as actor, so the change is
validated by the state table and lands in the order's event log.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from orderstate.errors import OrderStateError
from orderstate.manager import OrderStateManager
from orderstate.models import EventSource
from orderstate.states import Status

FORM_TEMPLATE = "admin/orderstate/action_form.html"


class ExecutionPriceForm(forms.Form):
    price = forms.DecimalField(
        label="Execution price (₹)",
        min_value=0.0001,
        max_digits=16,
        decimal_places=4,
        help_text="The average price of the whole order at the broker.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in each order's event log.",
    )


def manager_for(request, account):
    return OrderStateManager(source=EventSource.ADMIN, actor=request.user, account=account)


def ask_for(modeladmin, request, queryset, form, action, title, explanation, button):
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
        "explanation": explanation,
        "objects": list(queryset),
        "form": form,
        "action": action,
        "button": button,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, FORM_TEMPLATE, context)


def order_label(order):
    return f"{order.base_symbol} #{order.broker_order_id}"


def entry_label(entry):
    return f"{entry.symbol} (failed buy {entry.pk})"


def apply_to_each(modeladmin, request, objects, change, done, label=order_label):
    """Run `change(obj)` for each object; report successes and refusals separately."""
    changed, refused = [], []
    for obj in objects:
        try:
            change(obj)
        except OrderStateError as exc:
            refused.append(f"{label(obj)}: {exc.detail}")
        else:
            changed.append(label(obj))
    if changed:
        modeladmin.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, f"Not changed — {line}", messages.ERROR)


@admin.action(description="Mark executed at a price…", permissions=["change"])
def mark_executed(modeladmin, request, queryset):
    form = ExecutionPriceForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return ask_for(
            modeladmin,
            request,
            queryset,
            form,
            "mark_executed",
            "Mark orders executed",
            "Each order below is marked fully executed at this average price, as the broker "
            "reported it. Its position is updated and the change is logged with your name.",
            "Mark executed",
        )
    price = form.cleaned_data["price"]

    def execute(order):
        manager_for(request, order.account).mark_order_executed(
            order.base_symbol, order.broker_order_id, price
        )

    apply_to_each(modeladmin, request, queryset, execute, f"Marked executed at {price}")
    return None


def _closing_action(status, name, verb):
    @admin.action(description=f"{verb} (stop tracking)…", permissions=["change"])
    def close(modeladmin, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return ask_for(
                modeladmin,
                request,
                queryset,
                form,
                name,
                f"{verb} orders",
                f"Each order below is marked {status.label.lower()} and no longer tracked. "
                "This does not cancel it at the broker.",
                verb,
            )
        reason = form.cleaned_data["reason"]

        def change(order):
            manager_for(request, order.account).cancel_order(
                order.broker_order_id, reason=reason, status=status
            )

        apply_to_each(modeladmin, request, queryset, change, f"Marked {status.label.lower()}")
        return None

    close.__name__ = name
    return close


cancel_orders = _closing_action(Status.CANCELLED, "cancel_orders", "Cancel")
reject_orders = _closing_action(Status.REJECTED, "reject_orders", "Reject")


@admin.action(description="Reopen a wrongly closed trade", permissions=["change"])
def reopen_trades(modeladmin, request, queryset):
    """Refused: the state table has no way back from a closed trade or an executed order."""
    modeladmin.message_user(
        request,
        "A closed trade cannot be reopened: its exit order is EXECUTED, and executed orders "
        "are final in the state table. Record the correcting order instead (register the "
        "buy that restores the position and mark it executed), so the log shows both.",
        messages.ERROR,
    )


@admin.action(description="Put back in the retry queue", permissions=["change"])
def requeue_failed(modeladmin, request, queryset):
    apply_to_each(
        modeladmin,
        request,
        queryset,
        lambda entry: manager_for(request, entry.account).requeue_failed_order(entry.pk),
        "Back in the retry queue",
        label=entry_label,
    )


@admin.action(description="Drop from the retry queue", permissions=["change"])
def drop_failed(modeladmin, request, queryset):
    dropped = [
        entry_label(entry)
        for entry in queryset
        if manager_for(request, entry.account).drop_failed_order(entry.pk)
    ]
    if dropped:
        modeladmin.message_user(request, f"Dropped: {', '.join(dropped)}.", messages.SUCCESS)
    else:
        modeladmin.message_user(request, "None of these was waiting.", messages.WARNING)
