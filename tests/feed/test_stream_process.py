"""Real `manage.py stream_orders` processes: SIGTERM ends one cleanly, and of two copies one
holds the feed while the other waits, then takes over when the first is killed."""

import os
import signal
import subprocess
import sys
import time

import pytest

from orderstate.feed.stream import lock_name
from orderstate.locks import lease
from orderstate.models import FeedStatus
from tests.paths import ROOT
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 60.0


def start_stream(*args, **env):
    environment = {
        **os.environ,
        "SECRET_KEY": "x",
        "DEBUG": "false",
        "DATABASE_URL": database_url(),
        "ORDERSTATE_PAPER_STEP_SECONDS": "1",
        "ORDERSTATE_FEED_STATUS_SECONDS": "1",
        # SQLite's lock row of a killed holder is taken over after this long.
        "ORDERSTATE_FEED_LOCK_TTL_SECONDS": "3",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "stream_orders", "--broker", "paper", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, processes, what):
    deadline = time.monotonic() + WAIT
    while not condition():
        for process in processes:
            if process.poll() is not None:
                _, err = process.communicate()
                pytest.fail(f"stream_orders ended before {what} ({process.returncode}): {err}")
        if time.monotonic() > deadline:
            errors = []
            for process in processes:
                process.kill()
                errors.append(process.communicate()[1][-1200:])
            pytest.fail(f"no {what} within {WAIT:.0f} s: {errors}")
        time.sleep(0.05)


def status():
    return FeedStatus.objects.filter(broker="paper", account="default").first()


def held_by(process):
    row = status()
    return (
        row is not None and row.running and row.connected and row.holder.endswith(f":{process.pid}")
    )


def test_sigterm_ends_the_stream_cleanly_and_frees_the_feed():
    process = start_stream()
    wait_for(lambda: held_by(process), [process], "connected stream")

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=WAIT)

    assert process.returncode == 0, err
    assert out.startswith("stream_orders paper (stopped")
    row = status()
    assert not row.running and not row.connected
    with lease(lock_name("default")) as held:
        assert held is not None


def test_a_second_copy_waits_and_takes_over_when_the_first_is_killed():
    first = start_stream()
    wait_for(lambda: held_by(first), [first], "first stream holding the feed")
    second = start_stream()
    try:
        # The first keeps writing its row while the second runs beside it.
        written = status().updated_at
        wait_for(lambda: status().updated_at > written, [first, second], "first stream's next word")
        assert held_by(first)

        first.kill()
        first.communicate(timeout=WAIT)
        wait_for(lambda: held_by(second), [second], "second stream taking over")
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=WAIT)

    assert second.returncode == 0
    assert not status().running
