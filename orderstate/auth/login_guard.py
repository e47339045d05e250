"""Refuse log-ins for a while after repeated failures for a username or an address.

A failure is a row (`LoginFailure`), so every worker and host sees the same
count. After `LOGIN_MAX_FAILURES` failures for a username (or
`LOGIN_MAX_FAILURES_PER_IP` from one address) within
`LOGIN_FAILURE_WINDOW_SECONDS`, attempts are refused until
`LOGIN_LOCKOUT_SECONDS` after the last failure, without checking the password.
The guard sits in the authentication form, so the dashboard and the admin
log-in pages share it.
"""

import math
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db.models import Count, Max
from django.utils import timezone

from orderstate.models import LoginFailure

LOCKED_OUT = "locked_out"


def client_ip(request):
    header = settings.LOGIN_CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            return entries[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def guard_keys(request, username):
    """The keys a failure counts against, with the limit for each."""
    keys = {f"user:{username.strip().lower()[:150]}": settings.LOGIN_MAX_FAILURES}
    if request is not None:
        keys[f"ip:{client_ip(request)[:100]}"] = settings.LOGIN_MAX_FAILURES_PER_IP
    return keys


def locked_until(keys, now=None):
    """When the lockout on any of `keys` ends, or None when none is locked."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    counts = (
        LoginFailure.objects.filter(key__in=list(keys), failed_at__gte=since)
        .values("key")
        .annotate(failures=Count("id"), last=Max("failed_at"))
    )
    ends = [
        row["last"] + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
        for row in counts
        if row["failures"] >= keys[row["key"]]
    ]
    end = max(ends, default=None)
    return end if end is not None and end > now else None


def record_failure(keys, now=None):
    now = now or timezone.now()
    LoginFailure.objects.bulk_create(LoginFailure(key=key, failed_at=now) for key in keys)
    # Rows older than window and lockout no longer decide anything.
    horizon = max(settings.LOGIN_FAILURE_WINDOW_SECONDS, settings.LOGIN_LOCKOUT_SECONDS)
    LoginFailure.objects.filter(
        key__in=list(keys), failed_at__lt=now - timedelta(seconds=horizon)
    ).delete()


def clear_failures(username):
    LoginFailure.objects.filter(key=f"user:{username.strip().lower()[:150]}").delete()


def lockout_message(until, now=None):
    minutes = max(1, math.ceil((until - (now or timezone.now())).total_seconds() / 60))
    return (
        "Too many failed log-in attempts. Log-in is locked for this account or address; "
        f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


class GuardedFormMixin:
    """Check the lockout before the password, and count each failed attempt."""

    locked_until = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()
        keys = guard_keys(self.request, username)
        self.locked_until = locked_until(keys)
        if self.locked_until:
            raise forms.ValidationError(lockout_message(self.locked_until), code=LOCKED_OUT)
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_failure(keys)
            self.locked_until = locked_until(keys)
            if self.locked_until:
                raise forms.ValidationError(
                    lockout_message(self.locked_until), code=LOCKED_OUT
                ) from None
            raise
        clear_failures(username)
        return cleaned


class GuardedAuthenticationForm(GuardedFormMixin, AuthenticationForm):
    pass


class GuardedAdminAuthenticationForm(GuardedFormMixin, AdminAuthenticationForm):
    pass


class GuardedLoginView(LoginView):
    """The dashboard's log-in page; a locked-out attempt answers 429 with Retry-After."""

    authentication_form = GuardedAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_until:
            response.status_code = 429
            seconds = (form.locked_until - timezone.now()).total_seconds()
            response["Retry-After"] = str(max(1, math.ceil(seconds)))
        return response
