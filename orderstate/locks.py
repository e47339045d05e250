"""A database-wide lock for jobs that must never run twice at once (the sync, exports).

On PostgreSQL it is a session advisory lock, which the server drops by itself
when the holding connection dies. SQLite has none, so a row is the lock; a row
older than `ORDERSTATE_LOCK_TTL_SECONDS` belongs to a holder that crashed and
is taken over. A holder that keeps a lock for hours (the order feed) takes a
`lease` and renews it, which also tells it when the lock is no longer its own.
"""

import hashlib
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from orderstate.models import InstanceLock

# Names this thread holds. PostgreSQL advisory locks are re-entrant within a
# session, so without this a nested attempt on the same connection would win.
_held = threading.local()


@contextmanager
def single_instance(name):
    """Yield True while holding the lock called `name`, False when another holder has it."""
    with lease(name) as held:
        yield held is not None


@contextmanager
def lease(name, ttl_seconds=None):
    """Yield a `Lease` while holding the lock called `name`, None when another holder has it.

    For a holder that keeps the lock for hours (the order feed): `renew()` says
    whether the lock is still ours and keeps SQLite's row fresh, so a row older
    than `ttl_seconds` (default ORDERSTATE_LOCK_TTL_SECONDS) is a dead holder's.
    """
    held = _held.__dict__.setdefault("names", set())
    if name in held:
        yield None
        return
    lock = _advisory_lock if connection.vendor == "postgresql" else _row_lock
    with lock(name, ttl_seconds or settings.ORDERSTATE_LOCK_TTL_SECONDS) as acquired:
        if acquired is None:
            yield None
            return
        held.add(name)
        try:
            yield acquired
        finally:
            held.discard(name)


def advisory_key(name):
    """A stable signed 64-bit key for `name` (Python's hash() differs per process)."""
    digest = hashlib.blake2b(f"orderstate:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLease:
    """A PostgreSQL session advisory lock: ours while this connection's session lives."""

    def __init__(self, key):
        self.key = key

    def renew(self):
        # A bigint key shows in pg_locks as its high and low 32 bits (classid, objid).
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                    "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
                    "AND classid::bigint = %s AND objid::bigint = %s)",
                    [unsigned >> 32, unsigned & 0xFFFFFFFF],
                )
                return cursor.fetchone()[0]
        except DatabaseError:
            return False  # the session is gone, and the server dropped its locks with it


class RowLease:
    """SQLite's lock row, kept fresh by `renew()` while its holder lives."""

    def __init__(self, name, holder):
        self.name = name
        self.holder = holder

    def renew(self):
        try:
            refreshed = InstanceLock.objects.filter(name=self.name, holder=self.holder).update(
                acquired_at=timezone.now()
            )
        except DatabaseError:
            return False
        return refreshed == 1


@contextmanager
def _advisory_lock(name, ttl_seconds):
    key = advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield AdvisoryLease(key) if acquired else None
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                pass  # a broken session: the server released the lock when it ended


@contextmanager
def _row_lock(name, ttl_seconds):
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    acquired = _take_row(name, holder, ttl_seconds)
    try:
        yield RowLease(name, holder) if acquired else None
    finally:
        if acquired:
            InstanceLock.objects.filter(name=name, holder=holder).delete()


def _take_row(name, holder, ttl_seconds):
    now = timezone.now()
    try:
        with transaction.atomic():
            InstanceLock.objects.create(name=name, holder=holder, acquired_at=now)
        return True
    except IntegrityError:
        pass
    # The row exists. Take it over only if it is stale; the conditional UPDATE
    # lets exactly one of two processes that both saw a stale row win.
    stale_before = now - timedelta(seconds=ttl_seconds)
    taken = InstanceLock.objects.filter(name=name, acquired_at__lt=stale_before).update(
        holder=holder, acquired_at=now
    )
    return taken == 1
