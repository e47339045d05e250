"""Liveness (`/healthz`): the database answers, how old the last good sync is, and what is
degraded (a position still oversold after a sync).

A plain Django view: it must answer when DRF's authentication, throttling or
the database would get in the way.
"""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from orderstate.checks import alerts
from orderstate.models import SyncOutcome, SyncRun


def check_database():
    """Run one query; False when the database cannot answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


def last_successful_sync_age(now=None):
    """Seconds since the last sync that finished ok, or None when none has."""
    finished = (
        SyncRun.objects.filter(outcome=SyncOutcome.OK, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if finished is None:
        return None
    return max(0.0, ((now or timezone.now()) - finished).total_seconds())


def database_unreachable():
    return JsonResponse(
        {
            "status": "error",
            "code": "database_unavailable",
            "detail": "The database does not answer.",
            "database": "unreachable",
        },
        status=503,
    )


@never_cache
@require_GET
def healthz(request):
    if not check_database():
        return database_unreachable()
    try:
        age = last_successful_sync_age()
    except DatabaseError:
        return database_unreachable()
    stale = age is None or age > settings.ORDERSTATE_SYNC_STALE_SECONDS
    raised, is_degraded = alerts.degraded()
    return JsonResponse(
        {
            "status": "degraded" if is_degraded else "ok",
            "database": "ok",
            "last_sync_age_seconds": None if age is None else round(age, 3),
            "sync_stale": stale,
            **raised,
        }
    )
