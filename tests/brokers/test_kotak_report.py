from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from orderstate.brokers.base import BadBrokerRow, BrokerUnavailable, OtherSegment
from orderstate.brokers.kotak_report import parse_order, parse_order_report
from orderstate.models import OrderType, Side, Variety
from orderstate.states import Status
from tests.kotak_book import load, row

IST = ZoneInfo("Asia/Kolkata")


def by_id(book):
    return {order.order_id: order for order in book}


@pytest.mark.parametrize(
    ("text", "qty", "filled", "expected"),
    [
        ("complete", 10, 10, Status.EXECUTED),
        ("traded", 10, 10, Status.EXECUTED),
        ("rejected", 10, 0, Status.REJECTED),
        ("cancelled", 10, 0, Status.CANCELLED),
        ("cancelled", 10, 4, Status.CANCELLED),
        ("open", 10, 0, Status.OPEN),
        ("open", 10, 4, Status.PARTIALLY_FILLED),
        ("trigger pending", 10, 0, Status.OPEN),
        ("modified", 10, 3, Status.PARTIALLY_FILLED),
        ("open pending", 10, 0, Status.OPEN),
        ("after market order req received", 10, 0, Status.OPEN),
        ("put order req received", 10, 0, Status.OPEN),
        ("validation pending", 10, 0, Status.OPEN),
        ("modify pending", 10, 4, Status.PARTIALLY_FILLED),
        ("cancel pending", 10, 0, Status.OPEN),
        ("not cancelled", 10, 0, Status.OPEN),
        ("cancelled after market order", 10, 0, Status.CANCELLED),
        ("modify after market order req received", 10, 0, Status.OPEN),
        ("Complete", 10, 10, Status.EXECUTED),
        (" OPEN ", 10, 0, Status.OPEN),
        ("frozen by exchange", 10, 0, None),
    ],
)
def test_every_kotak_status_maps(text, qty, filled, expected):
    order = parse_order(row("1001", "RELIANCE", "S", text, qty, filled, "2500.00"))
    assert order.status == expected
    assert order.broker_status == text.strip()


def test_recorded_book_parses_every_row_with_types():
    book = parse_order_report(load("order_report_mixed"))
    assert book.errors == []
    orders = by_id(book)
    assert len(orders) == 13
    sold = orders["220621000000101"]
    assert sold.side == Side.SELL
    assert sold.symbol == "RELIANCE-EQ"
    assert sold.base_symbol == "RELIANCE"
    assert (sold.quantity, sold.filled_quantity) == (10, 10)
    assert sold.price == Decimal("2575.00")
    assert sold.average_price == Decimal("2575.40")
    assert sold.placed_at == datetime(2022, 6, 21, 14, 49, 32, tzinfo=IST)
    assert sold.status == Status.EXECUTED


def test_numbers_sent_as_strings_become_ints_and_decimals():
    order = parse_order(row("1005", "TCS", "B", "complete", "5", "5", average="3890.55"))
    assert order.quantity == 5
    assert order.filled_quantity == 5
    assert order.average_price == Decimal("3890.55")


def test_market_order_zero_price_means_no_price():
    orders = by_id(parse_order_report(load("order_report_mixed")))
    assert orders["220621000000112"].price is None
    assert orders["220621000000112"].order_type == OrderType.MARKET


def test_rejection_reason_is_kept_and_placeholder_dropped():
    orders = by_id(parse_order_report(load("order_report_mixed")))
    assert orders["220621000000103"].reason.startswith("RMS:Margin Exceeds")
    assert orders["220621000000101"].reason == ""


def test_amo_order_is_marked_after_market():
    orders = by_id(parse_order_report(load("order_report_mixed")))
    assert orders["220621000000108"].variety == Variety.AMO
    assert orders["220621000000109"].variety == Variety.REGULAR


@pytest.mark.parametrize(
    "text", ["modify after market order req received", "cancelled after market order"]
)
def test_every_after_market_status_marks_an_after_market_order(text):
    assert parse_order(row("1006", "ITBEES", "B", text, 50, price="35.50")).variety == Variety.AMO


def test_an_amo_field_is_not_kotaks_and_is_not_read():
    order = parse_order(row("1007", "ITBEES", "B", "open", 50, price="35.50", amo="YES"))
    assert order.variety == Variety.REGULAR


def test_only_cash_segments_are_orders_here_the_others_are_skipped_and_counted():
    book = parse_order_report(load("order_report_ok"))

    assert "260724000101007" not in by_id(book)  # TCS26JULFUT, nse_fo
    assert len(book) == 7 and book.skipped == 1 and book.errors == []


@pytest.mark.parametrize("segment", ["nse_fo", "bse_fo", "mcx_fo", "cde_fo", "nse_com"])
def test_a_row_of_another_segment_is_never_an_nse_cash_order(segment):
    with pytest.raises(OtherSegment):
        parse_order(row("1008", "TCS", "B", "complete", 225, 225, exSeg=segment))


def test_bse_cash_is_kept_as_bse():
    assert parse_order(row("1009", "TCS", "B", "open", 5, exSeg="bse_cm")).exchange == "BSE"


def test_stop_loss_order_keeps_its_trigger():
    order = by_id(parse_order_report(load("order_report_mixed")))["220621000000106"]
    assert order.order_type == OrderType.SL
    assert order.trigger_price == Decimal("541.00")


def test_older_key_names_are_read():
    orders = by_id(parse_order_report(load("order_report_legacy_keys")))
    assert orders["220621000000201"].status == Status.EXECUTED
    assert orders["220621000000201"].side == Side.SELL
    assert orders["220621000000202"].reason == "RMS:Insufficient funds"
    assert orders["220621000000202"].side == Side.BUY
    assert orders["220621000000203"].status == Status.PARTIALLY_FILLED
    assert orders["220621000000203"].exchange == "BSE"


def test_filled_quantity_falls_back_to_unfilled_size():
    raw = row("1002", "TCS", "B", "open", 10, 0, "3890.00")
    del raw["fldQty"]
    raw["unFldSz"] = "6"
    assert parse_order(raw).filled_quantity == 4


def test_garbage_rows_are_reported_and_the_rest_kept():
    book = parse_order_report(load("order_report_garbage"))
    assert sorted(order.order_id for order in book) == ["220621000000301", "220621000000310"]
    assert len(book.errors) == 8
    assert any("missing nOrdNo" in error for error in book.errors)
    assert any("'ten'" in error for error in book.errors)
    assert any("more than qty" in error for error in book.errors)
    assert "220621000000303" in book.unreadable_ids


@pytest.mark.parametrize(
    "change",
    [
        {"qty": "0"},
        {"qty": "-5"},
        {"qty": "2.5"},
        {"qty": True},
        {"prc": "NaN"},
        {"prc": "-1.00"},
        {"avgPrc": "Infinity"},
        {"trnsTp": "SHORT"},
        {"trdSym": ""},
        {"trdSym": "BAD SYMBOL!"},
        {"ordDtTm": "2022-13-45"},
        {"ordSt": None},
        {"fldQty": "11"},
    ],
)
def test_bad_values_raise_bad_broker_row(change):
    raw = row("1003", "INFY", "S", "open", 10, 0, "1585.00")
    raw.update(change)
    with pytest.raises(BadBrokerRow):
        parse_order(raw)


def test_complete_with_partial_fill_is_refused():
    with pytest.raises(BadBrokerRow, match="complete with 4 of 10"):
        parse_order(row("1004", "INFY", "S", "complete", 10, 4, "1585.00"))


def test_bare_list_is_a_book():
    assert len(parse_order_report(load("order_report_bare_list"))) == 3


@pytest.mark.parametrize("body", [None, "error", 42, load("session_expired")])
def test_broker_error_bodies_raise_unavailable(body):
    with pytest.raises(BrokerUnavailable):
        parse_order_report(body)


def test_error_body_without_stat_raises_unavailable():
    with pytest.raises(BrokerUnavailable, match="Error Message"):
        parse_order_report({"Error Message": "Complete the 2fa process"})


def test_data_that_is_not_a_list_raises_unavailable():
    with pytest.raises(BrokerUnavailable, match="not a list"):
        parse_order_report({"stat": "Ok", "data": {"nOrdNo": "1"}})


def test_no_data_answer_is_an_empty_book():
    assert list(parse_order_report(load("no_data"))) == []
