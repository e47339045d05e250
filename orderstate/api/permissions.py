"""The API's face of the rules in `orderstate.auth.rules`: who may read and change orders,
and which accounts a request may see."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from orderstate.auth.rules import may_change_orders, may_read_orders, visible_accounts, within


def _token_is_read_only(request):
    return bool(getattr(request.auth, "read_only", False))


class CanReadOrders(BasePermission):
    message = "This user may not read order state."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and may_read_orders(user))


class CanWriteOrders(BasePermission):
    """Reads need view permission; writes need change permission and a writable token."""

    message = "This user or token may not change order state."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return may_read_orders(user)
        return may_change_orders(user) and not _token_is_read_only(request)


def request_accounts(request):
    """The accounts this request may see (None: every one): the user's grants, narrowed
    to the token's account."""
    return visible_accounts(request.user, request.auth)


def scoped_orders(request, queryset):
    """Limit a queryset to the request's accounts, so other accounts' ids stay unseen (404)."""
    return within(queryset, request_accounts(request))
