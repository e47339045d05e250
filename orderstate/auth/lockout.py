"""The log-in lockout, kept by django-axes: a (username, address) pair is locked after
LOGIN_MAX_FAILURES failures, and an address that fails LOGIN_MAX_FAILURES_PER_IP times for
any usernames (a flood) is throttled for every username; the owner logging in from
another address is never locked out.

Axes counts failures in the database (every worker and host sees the same count),
refuses a locked attempt without checking the password, and guards every
`authenticate()` call, so the dashboard's and the admin's log-in pages alike.
Failures older than LOGIN_LOCKOUT_SECONDS no longer count, and a lock ends that long
after the last failure. This module holds what axes leaves to the project: the
two limits, the address behind a proxy, and the page a locked attempt gets.
"""

import ipaddress
import math
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.db.models import Max, Sum
from django.forms.utils import ErrorDict
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone


class PairOrFloodHandler(AxesDatabaseHandler):
    """Axes compares one count with AXES_FAILURE_LIMIT (the pair's limit): the pair's
    failures, or the limit itself once the address has flooded. AXES_LOCKOUT_PARAMETERS
    lists the pair, then the address, so the attempts come in that order."""

    def get_failures(self, request, credentials=None):
        pair, address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if address >= settings.LOGIN_MAX_FAILURES_PER_IP:
            return max(pair, settings.AXES_FAILURE_LIMIT)
        return pair


def username(request, credentials):
    """The username failures count against: case and spaces do not dodge the lock."""
    raw = (credentials or {}).get("username")
    if raw is None:
        raw = request.POST.get("username")
    return None if raw is None else str(raw).strip().lower()[:150]


def client_address(request):
    """The client's address: REMOTE_ADDR, or behind a proxy the right-most entry of
    LOGIN_CLIENT_IP_HEADER, the one the proxy itself appended (entries to its left
    come from the client and can be forged). None when neither is an IP address."""
    header = settings.LOGIN_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries and _is_address(entries[-1]):
            return entries[-1]
    address = request.META.get("REMOTE_ADDR")
    return address if address and _is_address(address) else None


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def lockout_message(minutes):
    return (
        "Too many failed log-in attempts. Log-in is locked for this account from this "
        f"address; try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


def lockout_response(request, original_response=None, credentials=None):
    """The log-in page the attempt came from (dashboard or admin), with the lock's
    message in place of the form's errors: 429 with Retry-After."""
    seconds = _seconds_left(request, credentials)
    message = lockout_message(max(1, math.ceil(seconds / 60)))
    if isinstance(original_response, TemplateResponse) and "form" in (
        original_response.context_data or {}
    ):
        form = original_response.context_data["form"]
        form._errors = ErrorDict({"__all__": form.error_class([message])})
        response = original_response
        response.content = response.rendered_content
    else:
        response = HttpResponse(message, content_type="text/plain; charset=utf-8")
    response.status_code = 429
    response["Retry-After"] = str(max(1, math.ceil(seconds)))
    return response


def _seconds_left(request, credentials):
    """Seconds until the lock ends: the cool-off after the latest failure that counts."""
    attempts = PairOrFloodHandler().get_user_attempts(request, credentials)
    lasts = [query.aggregate(last=Max("attempt_time"))["last"] for query in attempts]
    last = max((moment for moment in lasts if moment is not None), default=None)
    cool_off = get_cool_off(request) or timedelta(0)
    if last is None:
        return cool_off.total_seconds()
    return max(0.0, (last + cool_off - timezone.now()).total_seconds())
