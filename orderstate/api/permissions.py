"""Who may read and who may change order state through the API."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


def can_read(user):
    return user.is_staff or user.has_perm("orderstate.view_order") or can_write(user)


def can_write(user):
    return user.is_staff or user.has_perm("orderstate.change_order")


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
