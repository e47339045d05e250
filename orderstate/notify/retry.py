"""When to try again: exponential backoff with jitter, and when to give up."""

import random
from datetime import timedelta

from django.conf import settings


def retry_delay(failures, rng=random):
    """Seconds to wait after `failures` failures in a row.

    ORDERSTATE_NOTIFY_BACKOFF_SECONDS doubled per failure, capped at
    ORDERSTATE_NOTIFY_BACKOFF_MAX_SECONDS, then a random half to all of it, so
    deliverers that failed together do not retry together. A base of 0 retries at
    the next pass.
    """
    base = settings.ORDERSTATE_NOTIFY_BACKOFF_SECONDS
    if base <= 0 or failures <= 0:
        return 0.0
    delay = min(settings.ORDERSTATE_NOTIFY_BACKOFF_MAX_SECONDS, base * 2 ** min(failures - 1, 30))
    return rng.uniform(delay / 2, delay)


def give_up_at(created_at):
    """The moment a message that still fails is given up as dead."""
    return created_at + timedelta(seconds=settings.ORDERSTATE_NOTIFY_MAX_AGE_SECONDS)
