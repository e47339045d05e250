"""Who may look and who may act: any logged-in user reads, staff or change_order acts."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse


def can_act(user):
    return user.is_active and (user.is_staff or user.has_perm("orderstate.change_order"))


def login_required_page(view):
    """Like login_required, but an expired session during an htmx refresh reloads the
    whole page to the login form instead of swapping the form into a table."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(request.get_full_path())["Location"]
            return response
        return redirect_to_login(request.get_full_path())

    return guarded


def action_required(view):
    """Login first (redirect), then 403 for users who may only look."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not can_act(request.user):
            raise PermissionDenied("Only staff may change order state.")
        return view(request, *args, **kwargs)

    return login_required(guarded)
