import json
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from orderstate.locks import advisory_key, single_instance
from orderstate.manager import OrderStateManager
from orderstate.market import IST
from orderstate.models import Order, OrderEvent, SyncOutcome, SyncRun
from orderstate.states import Status
from orderstate.sync import run as sync
from tests.kotak_book import FIXTURES, book, fill, load, row, trades
from tests.paths import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def executed_book(tmp_path):
    OrderStateManager().register_buy_order("TCS-EQ", "7001", "3890.00", 5)
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book(row("7001", "TCS", "B", "complete", 5, 5, "3890.00"))))
    return path


def sync_broker(*args):
    out, err = _Buffer(), _Buffer()
    call_command("sync_broker", *args, stdout=out, stderr=err)
    return out.text, err.text


class _Buffer:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_one_run_prints_a_summary_line(executed_book):
    out, _ = sync_broker("--broker", "replay", "--file", str(executed_book))

    assert out.count("\n") == 1
    assert " ok " in out
    assert "executed=1" in out
    assert "state_problems=1 (unprotected_position:1)" in out
    assert Order.objects.get(broker_order_id="7001").status == Status.EXECUTED


def test_json_output_carries_the_stats(executed_book):
    out, _ = sync_broker("--broker", "replay", "--file", str(executed_book), "--json")

    report = json.loads(out)
    assert report["outcome"] == "ok"
    assert report["stats"]["executed"] == 1
    assert report["id"] == SyncRun.objects.get().pk


def test_failed_run_exits_non_zero_and_is_recorded():
    with pytest.raises(CommandError, match="invalid session token"):
        sync_broker("--broker", "replay", "--file", str(FIXTURES / "session_expired.json"))
    assert SyncRun.objects.get().outcome == SyncOutcome.FAILED


def test_missing_file_exits_non_zero(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        sync_broker("--broker", "replay", "--file", str(tmp_path / "nope.json"))


def test_dry_run_writes_no_order_change(executed_book):
    events = OrderEvent.objects.count()

    out, _ = sync_broker("--broker", "replay", "--file", str(executed_book), "--dry-run")

    assert "(dry run)" in out
    assert "executed=1" in out
    assert Order.objects.get(broker_order_id="7001").status == Status.PENDING
    assert OrderEvent.objects.count() == events


def test_second_sync_skips_with_a_clear_message(executed_book):
    with single_instance(sync.LOCK_NAME):
        out, err = sync_broker("--broker", "replay", "--file", str(executed_book))

    assert "another sync is running" in err
    assert "skipped" in out
    assert Order.objects.get(broker_order_id="7001").status == Status.PENDING


def test_file_alone_replays_it(executed_book):
    out, _ = sync_broker("--file", str(executed_book))
    assert " replay ok " in out


def test_file_needs_the_replay_broker(executed_book):
    with pytest.raises(CommandError, match="--broker replay"):
        sync_broker("--broker", "paper", "--file", str(executed_book))


def _environment(database_url):
    env = {**os.environ, "SECRET_KEY": "x", "DEBUG": "false", "DATABASE_URL": database_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _manage(env, *args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.skipif(connection.vendor == "postgresql", reason="runs on its own SQLite file")
def test_loop_keeps_going_through_broker_errors_and_stops_on_sigterm(tmp_path):
    env = _environment(f"sqlite:///{tmp_path / 'loop.sqlite3'}")
    migrate = _manage(env, "migrate", "--noinput")
    assert migrate.wait(timeout=120) == 0
    loop = _manage(
        env,
        "sync_broker",
        "--broker",
        "replay",
        "--file",
        str(tmp_path / "nope.json"),
        "--loop",
        "--interval",
        "0.1",
    )
    watchdog = threading.Timer(120, loop.kill)  # a hung child must not hang the suite
    watchdog.start()
    try:
        lines = [loop.stdout.readline(), loop.stdout.readline()]
        loop.send_signal(signal.SIGTERM)
        rest, err = loop.communicate(timeout=60)
    finally:
        watchdog.cancel()
    out = "".join(lines) + rest

    assert loop.returncode == 0, err
    assert out.count(" failed ") >= 2
    assert out.rstrip().endswith("sync_broker: stopped")


def _migrated(tmp_path, **extra):
    env = {**_environment(f"sqlite:///{tmp_path / 'loop.sqlite3'}"), **extra}
    migrate = _manage(env, "migrate", "--noinput")
    assert migrate.wait(timeout=120) == 0
    return env


@pytest.mark.skipif(connection.vendor == "postgresql", reason="runs on its own SQLite file")
def test_the_loop_runs_a_requested_sync_into_the_request(tmp_path, executed_book):
    env = _migrated(tmp_path)
    loop = _manage(
        env, "sync_broker", "--broker", "replay", "--file", str(executed_book), "--loop",
        "--interval", "3600",
    )  # fmt: skip
    watchdog = threading.Timer(120, loop.kill)
    watchdog.start()
    try:
        first = loop.stdout.readline()
        asked = _manage(
            env, "shell", "-c",
            "from orderstate.sync import request_sync; print(request_sync(dry_run=True).pk)",
        )  # fmt: skip
        request_id = asked.communicate(timeout=60)[0].split()[-1]
        second = loop.stdout.readline()
        loop.send_signal(signal.SIGTERM)
        rest, err = loop.communicate(timeout=60)
    finally:
        watchdog.cancel()

    assert loop.returncode == 0, err
    assert first.startswith("sync #1 replay ok")
    # Within the hour's wait, the request ran in its own row, as it asked (a dry run).
    assert second.startswith(f"sync #{request_id} replay ok (dry run)")
    assert rest.rstrip().endswith("sync_broker: stopped")


@pytest.mark.skipif(connection.vendor == "postgresql", reason="runs on its own SQLite file")
def test_a_refused_login_makes_the_loop_wait_instead_of_trying_again(tmp_path):
    tries = tmp_path / "logins.log"
    env = _migrated(
        tmp_path,
        ORDERSTATE_BROKER="tests.refusing_broker.RefusingBroker",
        REFUSED_LOGIN_LOG=str(tries),
        ORDERSTATE_LOGIN_REFUSED_BACKOFF="3600",
    )
    loop = _manage(env, "sync_broker", "--loop", "--interval", "0.1")
    watchdog = threading.Timer(120, loop.kill)
    watchdog.start()
    try:
        line = loop.stdout.readline()
        warning = ""
        while "next try" not in warning and (stderr := loop.stderr.readline()):
            warning = stderr
        loop.send_signal(signal.SIGTERM)
        rest, err = loop.communicate(timeout=60)
    finally:
        watchdog.cancel()

    assert loop.returncode == 0, err
    assert " failed " in line and "Check KOTAK_MPIN" in line
    assert "refused the login; next try in 3600 s" in warning
    assert " failed " not in rest  # no second run
    assert tries.read_text() == "login\n"


def test_a_refused_login_waits_the_long_backoff():
    command = sync_broker_command(interval=30.0)

    assert command.pause_after(1) == 60
    assert command.pause_after(1, refused=True) == 1800


def sync_broker_command(**options):
    from orderstate.management.commands.sync_broker import Command

    command = Command()
    command.options = options
    command.stopping = False
    return command


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks are PostgreSQL's")
def test_second_process_skips_while_another_holds_the_lock(tmp_path):
    import psycopg

    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with psycopg.connect(**params, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [advisory_key(sync.LOCK_NAME)])
        second = _manage(
            _environment(url), "sync_broker", "--broker", "replay", "--file", str(empty)
        )
        out, err = second.communicate(timeout=120)
        holder.execute("DELETE FROM orderstate_syncrun WHERE outcome = 'skipped'")

    assert second.returncode == 0, err
    assert "another sync is running" in err
    assert " skipped " in out


def test_a_whole_captured_session_replays_from_one_file(tmp_path):
    OrderStateManager().register_buy_order("TCS-EQ", "7002", "3450.00", 5)
    session = tmp_path / "session.json"
    fills = [
        fill("7002", "F1", 2, "3449.00", datetime(2026, 7, 24, 9, 20, tzinfo=IST)),
        fill("7002", "F2", 3, "3449.50", datetime(2026, 7, 24, 9, 21, tzinfo=IST)),
    ]
    session.write_text(
        json.dumps(
            {
                "orders": book(row("7002", "TCS", "B", "complete", 5, 5, "3450.00", "3449.30")),
                "trades": trades(*fills),
                "positions": load("no_data"),
                "holdings": {"data": []},
            }
        )
    )

    out, _ = sync_broker("--file", str(session), "--json")

    stats = json.loads(out)["stats"]
    assert (stats["executed"], stats["exact_fills"]) == (1, 1)
    assert [
        (row["symbol"], row["ours"], row["broker"]) for row in stats["position_mismatches"]
    ] == [("TCS", 5, 0)]
    assert Order.objects.get(broker_order_id="7002").fills.count() == 2
