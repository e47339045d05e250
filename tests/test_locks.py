import os
import subprocess
import sys
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from orderstate.locks import advisory_key, single_instance
from orderstate.models import InstanceLock, SyncOutcome
from orderstate.sync import run as sync
from tests.paths import ROOT

pytestmark = pytest.mark.django_db


def test_lock_is_exclusive_while_held():
    with single_instance("job") as first, single_instance("job") as second:
        assert (first, second) == (True, False)


def test_lock_is_free_again_after_release():
    with single_instance("job") as first:
        assert first
    with single_instance("job") as again:
        assert again


def test_different_names_do_not_block_each_other():
    with single_instance("export") as export, single_instance("broker-sync") as sync_lock:
        assert export and sync_lock


def test_lock_is_released_when_the_job_raises():
    with pytest.raises(RuntimeError), single_instance("job"):
        raise RuntimeError("job crashed")
    with single_instance("job") as acquired:
        assert acquired


def test_sync_skips_while_another_holds_the_lock():
    with single_instance(sync.LOCK_NAME):
        run = sync.run_sync(broker=sync.GivenBook([]))
    assert run.outcome == SyncOutcome.SKIPPED
    assert "another sync" in run.error
    assert run.finished_at is not None


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the lock row is SQLite's")
def test_stale_lock_row_of_a_crashed_holder_is_taken_over(settings):
    settings.ORDERSTATE_LOCK_TTL_SECONDS = 60
    InstanceLock.objects.create(
        name="job", holder="dead-host:1", acquired_at=timezone.now() - timedelta(minutes=5)
    )
    with single_instance("job") as acquired:
        assert acquired
        assert InstanceLock.objects.get(name="job").holder != "dead-host:1"
    assert not InstanceLock.objects.filter(name="job").exists()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the lock row is SQLite's")
def test_fresh_lock_row_of_another_holder_blocks():
    InstanceLock.objects.create(name="job", holder="other-host:2")
    with single_instance("job") as acquired:
        assert not acquired
    assert InstanceLock.objects.get(name="job").holder == "other-host:2"


def advisory_key_in_another_process(name, hash_seed):
    """`advisory_key(name)` as a separate interpreter computes it, with its own str hashes."""
    code = (
        "import django; django.setup(); from orderstate.locks import advisory_key; "
        f"print(advisory_key({name!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_advisory_key_is_the_same_in_every_process_and_every_release():
    """Every process that locks "broker-sync" must ask PostgreSQL for the same key, or two
    syncs run at once. Python's hash() of a str differs per process (PYTHONHASHSEED), so
    processes started with different seeds must still agree; and the key is pinned, since
    an old and a new release run side by side during a deploy."""
    key = advisory_key(sync.LOCK_NAME)

    assert [advisory_key_in_another_process(sync.LOCK_NAME, seed) for seed in (1, 2)] == [key, key]
    assert key == -2539704984442945707


def test_advisory_keys_are_signed_64_bit_and_differ_by_name():
    """pg_advisory_lock takes a bigint: every key fits one, and the sign bit is used."""
    keys = {name: advisory_key(name) for name in [f"job-{number}" for number in range(1000)]}

    assert all(type(key) is int and -(2**63) <= key < 2**63 for key in keys.values())
    assert len(set(keys.values())) == len(keys)
    assert min(keys.values()) < -(2**62) and max(keys.values()) > 2**62
    assert advisory_key("broker-sync") != advisory_key("export")


@pytest.fixture
def other_connection():
    """A second, independent PostgreSQL session (another process as far as the server knows)."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as other:
        yield other


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_sync_skips_while_another_session_holds_the_advisory_lock(other_connection):
    key = advisory_key(sync.LOCK_NAME)
    other_connection.execute("SELECT pg_advisory_lock(%s)", [key])

    run = sync.run_sync(broker=sync.GivenBook([]))

    assert run.outcome == SyncOutcome.SKIPPED
    other_connection.execute("SELECT pg_advisory_unlock(%s)", [key])
    assert sync.run_sync(broker=sync.GivenBook([])).outcome == SyncOutcome.OK


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_advisory_lock_is_visible_to_other_sessions_while_held(other_connection):
    key = advisory_key("job")
    with single_instance("job") as acquired:
        assert acquired
        taken = other_connection.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
        assert taken is False
    taken = other_connection.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
    assert taken is True
