"""Render a page, or only its live table when htmx asks for a refresh."""

from django.conf import settings
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from dashboard.permissions import can_act, can_sync

DEFAULT_REFRESH_SECONDS = 5


def refresh_seconds():
    return getattr(settings, "DASHBOARD_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS)


def is_refresh(request):
    return request.headers.get("HX-Request") == "true"


def render_page(request, template, partial, context):
    """The full page, or `partial` (the live region) for an htmx poll.

    `Vary: HX-Request` keeps a browser cache from serving one for the other.
    """
    context = {
        **context,
        "can_act": can_act(request.user),
        "can_sync": can_sync(request.user),
        "refresh_seconds": refresh_seconds(),
    }
    response = render(request, partial if is_refresh(request) else template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
