"""The dashboard's face of `orderstate.auth.rules`: pages need `view_order` (or staff),
actions `change_order` (or staff), a sync staff; every figure is narrowed to the accounts
the user may see. Logged-in pages are never stored by a browser or a proxy."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.cache import patch_cache_control

from orderstate.auth.rules import (
    may_change_orders,
    may_read_orders,
    may_start_sync,
    visible_accounts,
)


def can_act(user):
    return may_change_orders(user)


def can_sync(user):
    return may_start_sync(user, visible_accounts(user), settings.ORDERSTATE_DEFAULT_ACCOUNT)


def accounts_of(request):
    """The accounts the logged-in user may see (None: every one)."""
    return visible_accounts(request.user)


def _private(view):
    """`Cache-Control: private, no-store` on whatever a logged-in page answers."""

    @wraps(view)
    def private(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return private


def login_required_page(view):
    """A page to read: log in first, then 403 without `view_order`. An expired session
    during an htmx refresh reloads the whole page to the login form instead of swapping
    the form into a table."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if request.user.is_authenticated:
            if not may_read_orders(request.user):
                raise PermissionDenied("This user may not read order state.")
            return view(request, *args, **kwargs)
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(request.get_full_path())["Location"]
            return response
        return redirect_to_login(request.get_full_path())

    return _private(guarded)


def _required(rule, message):
    def decorator(view):
        """Login first (redirect), then 403 for users the rule refuses."""

        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not rule(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return _private(login_required(guarded))

    return decorator


action_required = _required(can_act, "Only staff or traders may change order state.")
sync_required = _required(can_sync, "Only staff may start a sync.")
