"""Who may read and who may change order state through the API."""

from django.contrib.auth.models import Permission
from django.db.models import Q
from rest_framework.permissions import SAFE_METHODS, BasePermission

ORDER_PERMISSIONS = ("view_order", "change_order")


def can_read(user):
    return user.is_staff or bool(order_permissions(user))


def can_write(user):
    return user.is_staff or "change_order" in order_permissions(user)


def order_permissions(user):
    """The user's order permissions, direct or through a group, in one query.

    What `user.has_perm` answers with Django's ModelBackend, which would load
    every permission the user has in two queries on every API request.
    """
    if not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(ORDER_PERMISSIONS)
    if not hasattr(user, "_order_permissions"):
        granted = Permission.objects.filter(
            Q(user=user) | Q(group__user=user),
            content_type__app_label="orderstate",
            codename__in=ORDER_PERMISSIONS,
        ).values_list("codename", flat=True)
        user._order_permissions = frozenset(granted)
    return user._order_permissions


def _token_is_read_only(request):
    return bool(getattr(request.auth, "read_only", False))


class CanReadOrders(BasePermission):
    message = "This user may not read order state."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and can_read(request.user))


class CanWriteOrders(BasePermission):
    """Reads need view permission; writes need change permission and a writable token."""

    message = "This user or token may not change order state."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return can_read(user)
        return can_write(user) and not _token_is_read_only(request)


def scoped_orders(request, queryset):
    """Limit a queryset to the token's account, so other accounts' ids stay unseen (404)."""
    account = getattr(request.auth, "account", None)
    return queryset.filter(account=account) if account else queryset
