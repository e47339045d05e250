"""Notification subscriptions and their outbox in the admin.

A subscription's secret and bot token are write-only here: typed once into a
password box that never shows them again, left blank to keep them. Targets are
checked as `add_webhook`/`add_telegram` check them. The outbox is read-only;
dead messages can be tried once more.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from orderstate.actions import notifications
from orderstate.actions.base import Context
from orderstate.admin.model_admins import ReadOnlyMixin
from orderstate.errors import OrderStateError, ValidationError
from orderstate.models import Channel, Delivery, EventKind, EventSource, OutboxMessage, Subscription
from orderstate.notify import subscriptions

WRITE_ONLY = {"secret": "new_secret", "bot_token": "new_bot_token"}


class SubscriptionForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        choices=[(kind, EventKind(kind).label) for kind in subscriptions.KIND_NAMES],
        widget=forms.CheckboxSelectMultiple,
    )
    new_secret = forms.CharField(
        label="Signing secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Webhooks: 16-200 characters, shared with the receiver. Never shown again; "
        "leave blank to keep the current one.",
    )
    new_bot_token = forms.CharField(
        label="Bot token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="Telegram: the token @BotFather gave. Never shown again; leave blank to keep "
        "the current one.",
    )

    class Meta:
        model = Subscription
        fields = ("name", "channel", "url", "chat_id", "kinds", "account", "active")

    def clean(self):
        data = super().clean()
        channel = data.get("channel") or self.instance.channel
        try:
            if channel == Channel.WEBHOOK:
                data["url"] = subscriptions.check_url(data.get("url"))
                if data.get("new_secret") or not self.instance.secret:
                    subscriptions.check_secret(data.get("new_secret"))
            elif channel == Channel.TELEGRAM:
                data["chat_id"] = subscriptions.check_chat_id(data.get("chat_id"))
                if data.get("new_bot_token") or not self.instance.bot_token:
                    data["new_bot_token"] = subscriptions.check_bot_token(data.get("new_bot_token"))
        except ValidationError as exc:
            for field, errors in exc.fields.items():
                self.add_error(WRITE_ONLY.get(field, field), errors)
        return data

    def save(self, commit=True):
        subscription = super().save(commit=False)
        for field, form_field in WRITE_ONLY.items():
            if self.cleaned_data.get(form_field):
                setattr(subscription, field, self.cleaned_data[form_field])
        if commit:
            subscription.save()
        return subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = (
        "name",
        "channel",
        "target",
        "kind_list",
        "account",
        "active",
        "last_delivered_at",
        "consecutive_failures",
        "last_error",
    )
    list_filter = ("channel", "active")
    search_fields = ("name", "url", "chat_id", "account")
    readonly_fields = (
        "created_at",
        "created_by",
        "consecutive_failures",
        "paused_until",
        "last_delivered_at",
        "last_failed_at",
        "last_error",
    )
    actions = ["send_test"]

    def get_fields(self, request, obj=None):
        fields = ["name", "channel", "url", "new_secret", "new_bot_token", "chat_id"]
        fields += ["kinds", "account", "active"]
        return fields + list(self.readonly_fields) if obj else fields

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "channel") if obj else ()

    @admin.display(description="kinds")
    def kind_list(self, subscription):
        return ", ".join(subscription.kinds)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Send a test notification")
    def send_test(self, request, queryset):
        ctx = Context.of(EventSource.ADMIN, request.user)
        for subscription in queryset:
            try:
                notifications.send_test(ctx, subscription.pk)
            except OrderStateError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                self.message_user(request, f"Test queued for {subscription.name}.")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "subscription",
        "event_kind",
        "account",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    )
    list_filter = ("status", "subscription", "created_at")
    list_select_related = ("subscription", "event")
    show_full_result_count = False
    actions = ["try_again"]

    @admin.display(description="event")
    def event_kind(self, message):
        return f"{message.event.kind} #{message.event_id}"

    def has_try_again_permission(self, request):
        return request.user.has_perm("orderstate.change_subscription")

    @admin.action(description="Try the selected dead messages once more", permissions=["try_again"])
    def try_again(self, request, queryset):
        revived = queryset.filter(status=Delivery.DEAD).update(
            status=Delivery.PENDING, next_attempt_at=timezone.now(), claimed_until=None
        )
        self.message_user(request, f"{revived} message(s) will be sent at the next pass.")
