"""Who may look and who may act: any logged-in user reads, staff or change_order acts."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def can_act(user):
    return user.is_active and (user.is_staff or user.has_perm("orderstate.change_order"))


def action_required(view):
    """Login first (redirect), then 403 for users who may only look."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not can_act(request.user):
            raise PermissionDenied("Only staff may change order state.")
        return view(request, *args, **kwargs)

    return login_required(guarded)
