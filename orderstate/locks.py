"""A database-wide lock for jobs that must never run twice at once (the sync, exports).

On PostgreSQL it is a session advisory lock, which the server drops by itself
when the holding connection dies. SQLite has none, so a row is the lock; a row
older than `ORDERSTATE_LOCK_TTL_SECONDS` belongs to a holder that crashed and
is taken over.
"""

import hashlib
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orderstate.models import InstanceLock

# Names this thread holds. PostgreSQL advisory locks are re-entrant within a
# session, so without this a nested attempt on the same connection would win.
_held = threading.local()


@contextmanager
def single_instance(name):
    """Yield True while holding the lock called `name`, False when another holder has it."""
    held = _held.__dict__.setdefault("names", set())
    if name in held:
        yield False
        return
    lock = _advisory_lock if connection.vendor == "postgresql" else _row_lock
    with lock(name) as acquired:
        if not acquired:
            yield False
            return
        held.add(name)
        try:
            yield True
        finally:
            held.discard(name)


def advisory_key(name):
    """A stable signed 64-bit key for `name` (Python's hash() differs per process)."""
    digest = hashlib.blake2b(f"orderstate:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _advisory_lock(name):
    key = advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _row_lock(name):
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    acquired = _take_row(name, holder)
    try:
        yield acquired
    finally:
        if acquired:
            InstanceLock.objects.filter(name=name, holder=holder).delete()


def _take_row(name, holder):
    now = timezone.now()
    try:
        with transaction.atomic():
            InstanceLock.objects.create(name=name, holder=holder, acquired_at=now)
        return True
    except IntegrityError:
        pass
    # The row exists. Take it over only if it is stale; the conditional UPDATE
    # lets exactly one of two processes that both saw a stale row win.
    stale_before = now - timedelta(seconds=settings.ORDERSTATE_LOCK_TTL_SECONDS)
    taken = InstanceLock.objects.filter(name=name, acquired_at__lt=stale_before).update(
        holder=holder, acquired_at=now
    )
    return taken == 1
