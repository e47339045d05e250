"""import_legacy: the old JSON files into orders, trades and the failed-order queue."""

import io
import json
import shutil
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orderstate.actions import imports
from orderstate.errors import DuplicateOrder, ValidationError
from orderstate.legacy.importer import Progress
from orderstate.manager import OrderStateManager
from orderstate.market import IST
from orderstate.models import EventKind, FailedOrder, Order, OrderEvent, Trade
from tests.paths import RECORDED

FIXTURES = RECORDED / "legacy"
CLEAN = FIXTURES / "clean"
MESSY = FIXTURES / "messy"

pytestmark = pytest.mark.django_db


def run_import(*args, **options):
    out = io.StringIO()
    call_command("import_legacy", *args, stdout=out, **options)
    return out.getvalue()


def counts():
    return (
        Order.objects.count(),
        Trade.objects.count(),
        FailedOrder.objects.count(),
        OrderEvent.objects.count(),
    )


@pytest.fixture
def copy_of(tmp_path):
    def copy(source):
        target = tmp_path / source.name
        shutil.copytree(source, target)
        return target

    return copy


# The clean files -------------------------------------------------------------------


def test_clean_files_import_every_record(db):
    output = run_import(data_dir=CLEAN)
    assert (Order.objects.count(), Trade.objects.count(), FailedOrder.objects.count()) == (12, 5, 1)
    assert "Skipped" not in output
    assert Order.objects.filter(source="import").count() == 12


def test_each_imported_order_has_a_registered_event_from_import(db):
    run_import(data_dir=CLEAN)
    events = OrderEvent.objects.filter(kind=EventKind.REGISTERED)
    assert events.count() == 12
    assert set(events.values_list("source", flat=True)) == {"import"}
    assert all(event.data["imported"] for event in events)


def test_orders_keep_their_recorded_state_without_replaying_fills(db):
    run_import(data_dir=CLEAN)
    sell = Order.objects.get(broker_order_id="251006000412")
    assert (sell.side, sell.status, sell.filled_quantity) == ("SELL", "EXECUTED", 10)
    assert sell.average_price == Decimal("2575.0000")
    rejected = Order.objects.get(broker_order_id="251023000019")
    assert rejected.status_reason.startswith("RMS:Margin Exceeds")
    # Executions were not replayed: the five trades are the history's, nothing more.
    assert Trade.objects.count() == 5
    assert not OrderEvent.objects.filter(kind__in=[EventKind.FILL, EventKind.EXECUTED]).exists()


def test_trades_link_to_their_buy_and_sell_orders(db):
    run_import(data_dir=CLEAN)
    trade = Trade.objects.get(symbol="RELIANCE")
    assert trade.entry_order.broker_order_id == "251006000101"
    assert trade.exit_order.broker_order_id == "251006000412"
    assert trade.realised_pnl == Decimal("1245.00")
    assert trade.metadata["rsi10"] == 27.41
    assert trade.metadata["levels_taken"] == {"30": True, "20": False, "10": False}
    assert Order.objects.get(broker_order_id="251006000412").trade == trade


def test_naive_times_are_read_as_ist(db):
    run_import(data_dir=CLEAN)
    order = Order.objects.get(broker_order_id="251006000101")
    assert order.placed_at.isoformat() == "2026-10-05T10:32:11.482113+00:00"


def test_sides_are_inferred_as_the_issue_says_and_reported(db):
    output = run_import(data_dir=CLEAN)
    sides = dict(Order.objects.values_list("broker_order_id", "side"))
    assert sides["251006000101"] == "BUY"  # a trade's order_id
    assert sides["251006000412"] == "SELL"  # a trade's sell_order_id
    assert sides["251021000128"] == "SELL"  # in active_sell_orders.json
    assert sides["251020000390"] == "SELL"  # LIMIT/REGULAR, no other evidence
    assert sides["251023000019"] == "BUY"  # MARKET/AMO, no other evidence
    assert "5  a trade's order_id" in output
    assert "1  LIMIT/REGULAR order (the sell engine's)" in output
    event = OrderEvent.objects.get(order__broker_order_id="251020000390", kind="registered")
    assert event.data["side_inferred_from"] == "LIMIT/REGULAR order (the sell engine's)"


def test_active_sell_orders_equal_the_snapshot(db):
    run_import(data_dir=CLEAN)
    snapshot = json.loads((CLEAN / "active_sell_orders.json").read_text())
    active = OrderStateManager().get_active_sell_orders()
    assert set(active) == set(snapshot)
    for symbol, entry in snapshot.items():
        assert {key: active[symbol][key] for key in entry} == entry


def test_failed_order_keeps_its_recorded_times_and_fields(db):
    run_import(data_dir=CLEAN)
    entry = FailedOrder.objects.get()
    assert (entry.symbol, entry.trading_symbol, entry.status) == ("SBIN", "SBIN-EQ", "WAITING")
    assert entry.first_failed_at.isoformat() == "2026-10-23T03:45:30.010934+00:00"
    assert entry.metadata["required_cash"] == 15625.0
    assert entry.metadata["verdict"] == "buy"


def test_summary_table_counts_read_imported_present_skipped(db):
    output = run_import(data_dir=CLEAN)
    lines = {line.split()[0]: line.split()[1:] for line in output.splitlines()[1:5]}
    assert lines["orders"] == ["12", "12", "0", "0"]
    assert lines["trades"] == ["5", "5", "0", "0"]
    assert lines["failed_orders"] == ["1", "1", "0", "0"]
    assert lines["active_sell_orders"] == ["2", "0", "2", "0"]


def test_account_option_imports_into_that_account(db):
    run_import(data_dir=CLEAN, account="kotak-2")
    assert set(Order.objects.values_list("account", flat=True)) == {"kotak-2"}
    assert OrderStateManager(account="kotak-2").get_active_sell_orders()
    assert OrderStateManager().get_active_sell_orders() == {}


# Dry run, re-runs, all or nothing ----------------------------------------------------


def test_dry_run_changes_nothing_but_reports_what_it_would_import(db):
    output = run_import(data_dir=CLEAN, dry_run=True)
    assert counts() == (0, 0, 0, 0)
    assert output.splitlines()[1].split() == ["orders", "12", "12", "0", "0"]
    assert "Dry run: nothing was written." in output


def test_reimport_is_idempotent(db):
    run_import(data_dir=CLEAN)
    before = counts()
    output = run_import(data_dir=CLEAN)
    assert counts() == before
    assert output.splitlines()[1].split() == ["orders", "12", "0", "12", "0"]
    assert output.splitlines()[2].split() == ["trades", "5", "0", "5", "0"]


def test_changed_record_is_reported_not_overwritten(db, copy_of):
    data_dir = copy_of(CLEAN)
    run_import(data_dir=data_dir)
    pending = json.loads((data_dir / "pending_orders.json").read_text())
    pending["orders"][8]["status"] = "CANCELLED"  # the INFY sell
    (data_dir / "pending_orders.json").write_text(json.dumps(pending))
    output = run_import(data_dir=data_dir)
    assert "Changed since imported (not overwritten):" in output
    assert "pending_orders.json[8]: status OPEN here, CANCELLED in the file" in output
    assert Order.objects.get(broker_order_id="251021000128").status == "OPEN"


def test_crash_half_way_leaves_the_database_unchanged(db, monkeypatch):
    calls = []
    real = imports.import_trade

    def crash_on_third(ctx, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("power cut")
        return real(ctx, *args, **kwargs)

    monkeypatch.setattr(imports, "import_trade", crash_on_third)
    with pytest.raises(RuntimeError, match="power cut"):
        run_import(data_dir=CLEAN)
    assert counts() == (0, 0, 0, 0)


def test_strict_aborts_on_any_rejected_record(db):
    with pytest.raises(CommandError, match="--strict"):
        run_import(data_dir=MESSY, strict=True)
    assert counts() == (0, 0, 0, 0)


def test_strict_imports_clean_files(db):
    run_import(data_dir=CLEAN, strict=True)
    assert Order.objects.count() == 12


# Files that cannot be read -----------------------------------------------------------


def test_truncated_file_is_a_clear_error(db):
    with pytest.raises(CommandError, match=r"not valid JSON at line \d+.*truncated"):
        run_import(pending=FIXTURES / "truncated" / "pending_orders.json")
    assert counts() == (0, 0, 0, 0)


def test_missing_explicit_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import(history=tmp_path / "nope.json")


def test_empty_data_dir_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="no legacy file found"):
        run_import(data_dir=tmp_path)


def test_wrong_shape_is_a_clear_error(db, tmp_path):
    (tmp_path / "trades_history.json").write_text('{"trades": {"a": 1}}')
    with pytest.raises(CommandError, match="'trades' must be a list"):
        run_import(data_dir=tmp_path)


def test_non_utf8_byte_is_read_with_a_warning(db):
    output = run_import(data_dir=MESSY)
    assert "byte 0xe9 at offset" in output
    entry = FailedOrder.objects.get(symbol="BEL")
    assert entry.metadata["verdict"] == "strong buy \ufffd"


def test_non_utf8_byte_aborts_a_strict_import(db, tmp_path):
    (tmp_path / "trades_history.json").write_bytes(b'{"trades": [], "note": "caf\xe9"}')
    with pytest.raises(CommandError, match="not valid UTF-8"):
        run_import(data_dir=tmp_path, strict=True)


# The messy files -----------------------------------------------------------------------


@pytest.fixture
def messy(db):
    return run_import(data_dir=MESSY)


@pytest.mark.parametrize(
    "expected",
    [
        "pending_orders.json[15]: status: unknown status 'TRIGGERED'",
        "pending_orders.json[16]: price: a LIMIT order needs a price, got null",
        "pending_orders.json[17]: cannot infer the side of a SL/REGULAR order",
        "pending_orders.json[18]: order_id: must be a string or a whole number",
        "pending_orders.json[20]: executed_qty: 12 is more than qty 10",
        "pending_orders.json[13]: duplicate order_id 251020000390",
        "pending_orders.json[19]: second active sell order for INFY: 251021000128",
        "trades_history.json trades[5]: trade 251007000233 closed twice",
        "trades_history.json trades[6]: status: unknown trade status 'archived'",
        "trades_history.json trades[7]: entry_price: missing or null",
        "trades_history.json failed_orders[1]: older failed order for SBIN",
        "trades_history.json failed_orders[3]: first_failed_at: missing",
        "active_sell_orders.json[ITC]: order 251013000502 closed the ITC trade at index 2",
        "active_sell_orders.json[SBIN]: order 251023000019 is REJECTED in pending_orders.json",
    ],
)
def test_messy_records_are_listed_with_file_index_and_reason(messy, expected):
    assert expected in messy


def test_messy_files_import_everything_valid(messy):
    assert Order.objects.count() == 15
    assert Trade.objects.count() == 6
    assert FailedOrder.objects.count() == 2
    assert messy.splitlines()[1].split() == ["orders", "22", "14", "0", "7"]


def test_numbers_as_strings_and_lowercase_symbols_are_read(messy):
    tcs = Order.objects.get(broker_order_id="251007000233")
    assert (tcs.symbol, tcs.base_symbol, tcs.quantity) == ("TCS-EQ", "TCS", 5)
    assert Order.objects.get(broker_order_id="251007000871").price == Decimal("4050.00")
    assert Trade.objects.get(symbol="RELIANCE").realised_pnl == Decimal("1245.00")
    assert Trade.objects.get(symbol="ITC").status == "CLOSED"
    sbin = FailedOrder.objects.get(symbol="SBIN")
    assert (sbin.retry_count, sbin.reference_price) == (2, Decimal("625.00"))


def test_unknown_fields_are_kept_in_metadata(messy):
    assert Order.objects.get(broker_order_id="251013000502").metadata["strategy_tag"] == "ema9_exit"
    assert Trade.objects.get(symbol="WIPRO").metadata["note"] == "sold by hand"


def test_broker_status_words_are_mapped_and_noted(messy):
    assert Order.objects.get(broker_order_id="251024000311").status == "EXECUTED"
    assert "status 'complete' read as EXECUTED" in messy


def test_identical_duplicate_is_skipped_and_the_first_of_differing_ones_kept(messy):
    assert Order.objects.filter(broker_order_id="251006000101").count() == 1
    assert "repeats order 251006000101; skipped" in messy
    assert Order.objects.get(broker_order_id="251020000390").status == "CANCELLED"


def test_trade_closed_twice_keeps_the_first_close(messy):
    trade = Trade.objects.get(symbol="TCS")
    assert trade.exit_order.broker_order_id == "251007000871"
    assert trade.realised_pnl == Decimal("800.00")


def test_open_re_entries_become_one_position(messy):
    trade = Trade.objects.get(symbol="HDFCBANK")
    assert trade.quantity == 12
    assert trade.entry_price == Decimal("1608.4667")  # (8 * 1622.40 + 4 * 1580.60) / 12
    assert [entry["qty"] for entry in trade.metadata["legacy_entries"]] == [8, 4]


def test_closed_trade_without_exit_time_takes_its_sells_last_check(messy):
    assert (
        Trade.objects.get(symbol="ITC").exit_time.isoformat() == "2026-10-20T09:42:44.581230+00:00"
    )
    assert "exit_time missing, taken from sell 251013000502" in messy


def test_closed_trade_without_pnl_gets_it_computed_and_noted(messy):
    assert Trade.objects.get(symbol="WIPRO").realised_pnl == Decimal("204.00")
    assert "pnl missing, computed as 204.00" in messy


def test_snapshot_price_is_the_newest_and_snapshot_only_orders_are_imported(messy):
    assert Order.objects.get(broker_order_id="251021000128").price == Decimal("1583.50")
    ntpc = Order.objects.get(broker_order_id="251024000400")
    assert (ntpc.side, ntpc.status, ntpc.symbol, ntpc.quantity) == ("SELL", "OPEN", "NTPC-EQ", 15)
    assert ntpc.metadata["entry_date"] == "2026-10-24"


# The manager's import verbs --------------------------------------------------------------


def test_import_order_refuses_fills_that_do_not_fit_the_status(importer):
    at = datetime(2026, 10, 5, 16, 0, tzinfo=IST)
    with pytest.raises(ValidationError, match="does not fit status EXECUTED"):
        importer.import_order(
            "TCS",
            "X-1",
            side="BUY",
            qty=5,
            status="EXECUTED",
            placed_at=at,
            filled_qty=4,
            order_type="MARKET",
        )
    with pytest.raises(ValidationError, match="does not fit status OPEN"):
        importer.import_order(
            "TCS", "X-1", side="SELL", qty=5, price=10, status="OPEN", placed_at=at, filled_qty=2
        )
    assert counts() == (0, 0, 0, 0)


def test_import_order_twice_is_a_duplicate(importer):
    at = datetime(2026, 10, 5, 10, 30, tzinfo=IST)
    importer.import_order(
        "TCS", "X-1", side="BUY", qty=5, status="PENDING", placed_at=at, order_type="MARKET"
    )
    with pytest.raises(DuplicateOrder):
        importer.import_order(
            "TCS", "X-1", side="BUY", qty=5, status="PENDING", placed_at=at, order_type="MARKET"
        )
    assert Order.objects.count() == 1


def test_import_trade_refuses_a_closed_trade_without_exit(importer):
    with pytest.raises(ValidationError, match="a closed trade has both"):
        importer.import_trade(
            "TCS", qty=5, entry_price="3890", entry_time=timezone.now(), status="CLOSED"
        )
    assert not Trade.objects.exists()


def test_import_failed_order_refuses_a_second_waiting_entry(importer):
    importer.import_failed_order("TCS-EQ", qty=5, first_failed_at=timezone.now())
    with pytest.raises(DuplicateOrder):
        importer.import_failed_order("TCS", qty=5, first_failed_at=timezone.now())
    assert FailedOrder.objects.count() == 1


# Progress ---------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_on_a_terminal():
    stream = FakeTerminal()
    progress = Progress("orders", 500, stream)
    for _ in range(500):
        progress.step()
    assert "\rorders" in stream.getvalue()
    assert stream.getvalue().endswith("500/500\n")


def test_progress_bar_is_silent_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress("orders", 500, stream)
    for _ in range(500):
        progress.step()
    assert stream.getvalue() == ""


# Variants some bot versions wrote ----------------------------------------------------------


@pytest.fixture
def variant_dir(tmp_path):
    pending = {
        "last_updated": "2026-10-23T16:00:00",
        "orders": [
            {
                "order_id": 251023000501,
                "symbol": "BEL-EQ",
                "ticker": "BEL.NS",
                "qty": 100,
                "order_type": "MKT",
                "variety": "AMO",
                "price": 0.0,
                "placed_at": "23-Oct-2026 16:00:05",
                "last_status_check": None,
                "status": "PENDING",
                "rejection_reason": None,
                "check_count": 0,
                "executed_qty": 0,
            },
            {
                "order_id": "251023000502",
                "symbol": "BEL-EQ",
                "ticker": "BEL.NS",
                "qty": 100,
                "order_type": "L",
                "variety": "NORMAL",
                "price": 301.45,
                "placed_at": "2026-10-23 09:20:00",
                "status": "PARTIALLY_FILLED",
                "executed_qty": 100,
            },
        ],
    }
    history = {
        "trades": [],
        "failed_orders": [
            {
                "symbol": "NTPC-EQ",
                "ticker": "NTPC.NS",
                "close": 0,
                "qty": 15,
                "reason": "insufficient_balance",
                "first_failed_at": "2026-10-23T16:00:09",
            },
        ],
    }
    (tmp_path / "pending_orders.json").write_text(json.dumps(pending))
    (tmp_path / "trades_history.json").write_text(json.dumps(history))
    return tmp_path


def test_broker_words_zero_prices_and_broker_times_are_read(variant_dir):
    output = run_import(data_dir=variant_dir)
    amo = Order.objects.get(broker_order_id="251023000501")
    assert (amo.order_type, amo.price, amo.side) == ("MARKET", None, "BUY")
    assert amo.placed_at.isoformat() == "2026-10-23T10:30:05+00:00"
    sell = Order.objects.get(broker_order_id="251023000502")
    assert (sell.order_type, sell.variety, sell.status) == ("LIMIT", "REGULAR", "EXECUTED")
    assert FailedOrder.objects.get().reference_price is None
    assert "order_type 'MKT' read as MARKET" in output
    assert "PARTIALLY_FILLED with all 100 filled: taken as EXECUTED" in output
    assert "top-level key 'last_updated' is not imported" in output


def test_zero_prices_are_written_back_as_zero(variant_dir, tmp_path):
    run_import(data_dir=variant_dir)
    call_command("export_legacy", data_dir=tmp_path / "out", stdout=io.StringIO())
    pending = json.loads((tmp_path / "out" / "pending_orders.json").read_text())
    amo = next(o for o in pending["orders"] if o["order_id"] == "251023000501")
    assert amo["price"] == 0.0
    history = json.loads((tmp_path / "out" / "trades_history.json").read_text())
    assert history["failed_orders"][0]["close"] == 0


def test_import_trade_refuses_a_pnl_beyond_the_column(importer):
    with pytest.raises(ValidationError, match="realised_pnl"):
        importer.import_trade(
            "TCS",
            qty=5,
            entry_price="3890",
            entry_time=timezone.now(),
            status="CLOSED",
            exit_price="4050",
            exit_time=timezone.now(),
            realised_pnl="1e16",
        )
    assert not Trade.objects.exists()


def test_account_name_is_checked(db):
    with pytest.raises(CommandError, match="--account"):
        run_import(data_dir=CLEAN, account="x" * 65)


def test_import_verbs_refuse_naive_or_missing_times(importer):
    with pytest.raises(ValidationError, match="placed_at: must be a timezone-aware"):
        importer.import_order(
            "TCS",
            "X-1",
            side="BUY",
            qty=5,
            status="PENDING",
            placed_at=datetime(2026, 10, 5, 16, 0),
            order_type="MARKET",
        )
    with pytest.raises(ValidationError, match="entry_time"):
        importer.import_trade("TCS", qty=5, entry_price="3890", entry_time=None, status="OPEN")
    assert counts() == (0, 0, 0, 0)
