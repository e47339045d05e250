"""export_legacy: the old bot's three files written from the database, atomically."""

import io
import json
import os
import signal
import threading

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from orderstate.legacy import exporter
from orderstate.locks import advisory_key, single_instance
from orderstate.management.commands.export_legacy import LOCK_NAME
from orderstate.manager import OrderStateManager
from orderstate.models import InstanceLock
from tests.paths import RECORDED

FIXTURES = RECORDED / "legacy"
FILES = ("pending_orders.json", "trades_history.json", "active_sell_orders.json")

pytestmark = pytest.mark.django_db


def export(data_dir, **options):
    out = io.StringIO()
    call_command("export_legacy", data_dir=data_dir, stdout=out, **options)
    return out.getvalue()


def read(data_dir, name):
    return json.loads((data_dir / name).read_text())


@pytest.fixture
def imported(db):
    call_command("import_legacy", data_dir=FIXTURES / "clean", stdout=io.StringIO())


def test_empty_database_writes_empty_files_in_the_old_shapes(db, tmp_path):
    export(tmp_path)
    assert read(tmp_path, "pending_orders.json") == {"orders": []}
    assert read(tmp_path, "trades_history.json") == {
        "trades": [],
        "failed_orders": [],
        "last_run": None,
    }
    assert read(tmp_path, "active_sell_orders.json") == {}


def test_export_writes_the_three_files_and_leaves_no_temporary_file(imported, tmp_path):
    output = export(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(FILES)
    assert "wrote pending_orders.json, trades_history.json, active_sell_orders.json" in output


def test_unchanged_database_rewrites_nothing(imported, tmp_path):
    export(tmp_path)
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in FILES}
    assert export(tmp_path).strip() == "unchanged"
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in FILES} == before


def test_changes_made_through_the_manager_show_in_the_next_export(imported, tmp_path):
    export(tmp_path)
    manager = OrderStateManager()
    manager.mark_order_executed("INFY", "251021000128", "1585.00")
    assert "wrote" in export(tmp_path)
    assert "INFY" not in read(tmp_path, "active_sell_orders.json")
    infy = next(t for t in read(tmp_path, "trades_history.json")["trades"] if t["symbol"] == "INFY")
    assert (infy["status"], infy["exit_price"], infy["pnl"]) == ("closed", 1585.0, 897.0)
    assert infy["sell_order_id"] == "251021000128"
    pending = {o["order_id"]: o for o in read(tmp_path, "pending_orders.json")["orders"]}
    assert (pending["251021000128"]["status"], pending["251021000128"]["executed_qty"]) == (
        "EXECUTED",
        12,
    )


def test_failed_write_keeps_the_old_file_and_cleans_up(imported, tmp_path, monkeypatch):
    target = tmp_path / "pending_orders.json"
    target.write_text('{"orders": []}\n')

    def broken_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporter.os, "replace", broken_replace)
    with pytest.raises(CommandError, match="No space left on device"):
        export(tmp_path)
    assert target.read_text() == '{"orders": []}\n'
    assert sorted(os.listdir(tmp_path)) == ["pending_orders.json"]


def test_write_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    steps = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(exporter.os, "fsync", lambda fd: (steps.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        exporter.os, "replace", lambda a, b: (steps.append("rename"), real_replace(a, b))
    )
    assert exporter.write_atomically(tmp_path / "x.json", "{}\n") is True
    assert steps == ["fsync", "rename", "fsync"]  # the file, the rename, the directory
    assert exporter.write_atomically(tmp_path / "x.json", "{}\n") is False


def test_watch_stops_cleanly_on_sigterm(imported, tmp_path):
    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        output = export(tmp_path, watch=True, interval=0.1)
    finally:
        timer.cancel()
    assert output.splitlines()[0].startswith("wrote")
    assert output.splitlines()[-1] == "stopped"
    assert signal.getsignal(signal.SIGTERM) == previous
    assert sorted(os.listdir(tmp_path)) == sorted(FILES)


def test_interval_must_be_positive(db, tmp_path):
    with pytest.raises(CommandError, match="--interval must be positive"):
        export(tmp_path, watch=True, interval=0)


@pytest.fixture
def export_lock_held_elsewhere():
    """The export lock as another process holds it: a PostgreSQL session or a SQLite row."""
    if connection.vendor != "postgresql":
        InstanceLock.objects.create(name=LOCK_NAME, holder="other-host:4242")
        yield
        return
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [advisory_key(LOCK_NAME)])
        yield


def export_with_errors(data_dir, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_legacy", data_dir=data_dir, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_second_exporter_skips_with_a_message_and_writes_nothing(
    imported, tmp_path, export_lock_held_elsewhere
):
    output, errors = export_with_errors(tmp_path)

    assert "another export is running; skipped" in errors
    assert "wrote" not in output
    assert os.listdir(tmp_path) == []


def test_watching_exporter_skips_rounds_while_another_exports(
    imported, tmp_path, export_lock_held_elsewhere
):
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        output, errors = export_with_errors(tmp_path, watch=True, interval=0.1)
    finally:
        timer.cancel()

    assert errors.count("another export is running; skipped") >= 2
    assert output.splitlines() == ["stopped"]
    assert os.listdir(tmp_path) == []


def test_export_releases_its_lock(imported, tmp_path):
    export(tmp_path)

    with single_instance(LOCK_NAME) as acquired:
        assert acquired
